package org.kcopyd.testdevices;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;

/**
 * {@link Forwarding#assertForwards}: a wrapper that passes every call on passes, default methods
 * included; one that keeps a default, changes the arguments, passes a call on twice, answers
 * itself, swallows a failed stage or a thrown exception fails, naming the method and what it did;
 * a stage of its own that completes as the wrapped device's did is accepted; the exemptions must
 * name methods and give reasons. And {@link ForwardingDevice} forwards all but the optional
 * operations it documents keeping.
 */
class ForwardingTest {

    /** What a wrapper does with one call; {@code call.pass()} passes it on unchanged. */
    private interface Handling {
        Object handle(Method method, Object[] args, Call call) throws Throwable;
    }

    private interface Call {
        Object pass(Object... args) throws Throwable;
    }

    /** A wrapper made by a Proxy: every call goes to {@code handling}, which passes it on or not. */
    private static BlockDevice wrapper(BlockDevice inner, Handling handling) {
        return (BlockDevice) Proxy.newProxyInstance(ForwardingTest.class.getClassLoader(),
                new Class<?>[] {BlockDevice.class}, (proxy, method, args) -> {
                    Object[] given = args == null ? new Object[0] : args;
                    return handling.handle(method, given, passed -> {
                        try {
                            return method.invoke(inner, passed);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
                });
    }

    /** A wrapper that passes every call on but {@code name}'s, which {@code handling} handles. */
    private static Function<BlockDevice, BlockDevice> allBut(String name, Handling handling) {
        return inner -> wrapper(inner, (method, args, call) -> method.getName().equals(name)
                ? handling.handle(method, args, call) : call.pass(args));
    }

    @Test
    void aWrapperThatPassesEveryCallOnPassesAndEveryMethodIsChecked() {
        long methods = Arrays.stream(BlockDevice.class.getMethods())
                .filter(m -> !Modifier.isStatic(m.getModifiers())).map(Forwarding::signature).distinct().count();

        var checked = Forwarding.assertForwards(inner -> wrapper(inner, (method, args, call) -> call.pass(args)),
                Map.of());

        assertThat(checked).hasSize((int) methods).contains("name()", "sizeInSectors()", "isReadOnly()",
                "read(long, ByteBuffer)", "write(long, ByteBuffer)", "flush()", "supportsWriteZeroes()",
                "writeZeroes(long, long)", "extents(long, long)", "canOffloadTo(BlockDevice)",
                "offloadBeatsPagesTo(BlockDevice)", "offloadTo(long, long, BlockDevice, long)", "supportsDiscard()",
                "discard(long, long)", "requiresSequentialWrites()", "minimumBlockBytes()", "whenLost()", "close()");
    }

    @Test
    void forwardingDeviceKeepsTheDefaultsOfTheOptionalOperationsItDocumentsAndForwardsTheRest() {
        String keeps = "ForwardingDevice keeps BlockDevice's default of the optional operations, so that a "
                + "subclass overriding read or write sees every request";

        var checked = Forwarding.assertForwards(ForwardingDevice::new, Map.of("supportsWriteZeroes", keeps,
                "writeZeroes", keeps, "extents", keeps, "canOffloadTo", keeps, "offloadBeatsPagesTo", keeps,
                "offloadTo", keeps, "supportsDiscard", keeps, "discard", keeps, "requiresSequentialWrites", keeps,
                "isNonBlocking", keeps + " (a subclass may block in them)"));

        assertThat(checked).containsExactly("close()", "flush()", "isReadOnly()", "minimumBlockBytes()", "name()",
                "read(long, ByteBuffer)", "readTail(ByteBuffer)", "sizeInSectors()", "tailBytes()",
                "whenLost()", "write(long, ByteBuffer)", "writeTail(ByteBuffer)");
    }

    @Test
    void aWrapperThatKeepsADefaultFailsNamingEveryMethodItDoesNotPassOn() {
        assertThatThrownBy(() -> Forwarding.assertForwards(ForwardingDevice::new, Map.of()))
                .isInstanceOf(AssertionError.class)
                .hasMessageStartingWith(ForwardingDevice.class.getName() + " does not pass on 10 BlockDevice methods to "
                        + "the device it wraps; forward each, or name it in notForwarded with the reason")
                .hasMessageContaining("\n  extents(long, long): not passed on: the wrapped device received no call "
                        + "of it (it received []), the wrapper answered ")
                .hasMessageContaining("\n  supportsWriteZeroes(): not passed on: the wrapped device received no call "
                        + "of it (it received []), the wrapper answered false")
                .hasMessageContaining("\n  writeZeroes(long, long): not passed on: the wrapped device received no "
                        + "call of it (it received [name()])")
                .hasMessageContaining("\n  offloadTo(long, long, BlockDevice, long): ")
                .hasMessageContaining("\n  canOffloadTo(BlockDevice): ")
                .hasMessageContaining("\n  offloadBeatsPagesTo(BlockDevice): ")
                .hasMessageContaining("\n  supportsDiscard(): ")
                .hasMessageContaining("\n  discard(long, long): ")
                .hasMessageContaining("\n  requiresSequentialWrites(): ")
                .message().doesNotContain("read(", "write(", "flush(", "close(");
    }

    @Test
    void aWrapperThatChangesAnArgumentFails() {
        var shifted = allBut("extents", (method, args, call) -> call.pass((long) args[0] + 1, args[1]));

        assertThatThrownBy(() -> Forwarding.assertForwards(shifted, Map.of()))
                .hasMessageContaining("\n  extents(long, long): passed on with other arguments: (9, 16) instead of "
                        + "(8, 16)");
    }

    @Test
    void aWrapperThatPassesAnotherBufferOrDestinationFails() {
        var copied = allBut("read", (method, args, call) -> call.pass(args[0],
                ByteBuffer.allocate(((ByteBuffer) args[1]).remaining())));
        var otherDestination = allBut("canOffloadTo", (method, args, call) -> call.pass(
                new ForwardingDevice((BlockDevice) args[0])));

        assertThatThrownBy(() -> Forwarding.assertForwards(copied, Map.of()))
                .hasMessageContaining("\n  read(long, ByteBuffer): passed on with other arguments: (8, HeapByteBuffer@");
        assertThatThrownBy(() -> Forwarding.assertForwards(otherDestination, Map.of()))
                .hasMessageContaining("\n  canOffloadTo(BlockDevice): passed on with other arguments: (ForwardingDevice@");
    }

    @Test
    void aWrapperThatPassesACallOnTwiceFails() {
        var twice = allBut("write", (method, args, call) -> {
            call.pass(args);
            return call.pass(args);
        });

        assertThatThrownBy(() -> Forwarding.assertForwards(twice, Map.of()))
                .hasMessageContaining("\n  write(long, ByteBuffer): passed on 2 times instead of once");
    }

    @Test
    void aWrapperThatAsksButAnswersItselfFails() {
        var alwaysReadOnly = allBut("isReadOnly", (method, args, call) -> {
            call.pass(args);
            return true;
        });
        var ownSize = allBut("sizeInSectors", (method, args, call) -> (long) call.pass(args) - 1);

        assertThatThrownBy(() -> Forwarding.assertForwards(alwaysReadOnly, Map.of()))
                .hasMessageContaining("\n  isReadOnly(): when the wrapped device did not, the wrapper answered true "
                        + "where the wrapped device answered false");
        assertThatThrownBy(() -> Forwarding.assertForwards(ownSize, Map.of()))
                .hasMessageContaining("\n  sizeInSectors(): when the wrapped device succeeded, the wrapper answered "
                        + "1048575 where the wrapped device answered 1048576");
    }

    @Test
    void aWrapperThatSwallowsAFailedStageOrAThrownExceptionFails() {
        var swallowsFlush = allBut("flush", (method, args, call) -> ((CompletionStage<?>) call.pass(args))
                .exceptionally(e -> null));
        var swallowsClose = allBut("close", (method, args, call) -> {
            try {
                return call.pass(args);
            } catch (IOException e) {
                return null;
            }
        });

        assertThatThrownBy(() -> Forwarding.assertForwards(swallowsFlush, Map.of()))
                .hasMessageContaining("\n  flush(): when the wrapped device did not (its stage failed with "
                        + "java.io.IOException: planned failure of flush()), the wrapper's stage completed with null");
        assertThatThrownBy(() -> Forwarding.assertForwards(swallowsClose, Map.of()))
                .hasMessageContaining("\n  close(): when the wrapped device did not (it threw java.io.IOException: "
                        + "planned failure of close()), the wrapper returned normally");
    }

    @Test
    void aStageOfTheWrappersOwnThatCompletesAsTheWrappedDevicesDidIsAccepted() {
        Function<BlockDevice, BlockDevice> ownStages = inner -> wrapper(inner, (method, args, call) -> {
            Object answer = call.pass(args);
            return answer instanceof CompletionStage<?> stage
                    ? stage.thenApplyAsync(v -> v, CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS))
                    : answer;
        });

        assertThat(Forwarding.assertForwards(ownStages, Map.of())).contains("extents(long, long)", "flush()");
    }

    @Test
    void theExemptionsMustNameMethodsOfTheInterfaceAndGiveReasons() {
        assertThatThrownBy(() -> Forwarding.assertForwards(ForwardingDevice::new, Map.of("extent", "a typo")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("notForwarded names 'extent', which is not a method of BlockDevice (its "
                        + "methods: [canOffloadTo, close, discard, extents, flush, ");
        assertThatThrownBy(() -> Forwarding.assertForwards(ForwardingDevice::new, Map.of("extents", " ")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("notForwarded gives no reason for 'extents': say why the wrapper answers it itself");
    }
}
