package org.kcopyd.testdevices;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Proxy;
import java.lang.reflect.Type;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * Checks that a device which wraps another passes every {@link BlockDevice} method on, the
 * interface's default methods included, so that a method the API gains (as {@code extents} and
 * the offload methods were) cannot silently answer with its default in a wrapper written before
 * it: such a method fails the check until the wrapper forwards it or its test names it, with the
 * reason, among the methods the wrapper answers itself.
 *
 * <p>{@link #assertForwards} wraps a recording device (a {@link Proxy} of {@code BlockDevice})
 * and calls each method of the interface, found by reflection, on the wrapper with sample
 * arguments (sectors and counts, a buffer, a sample destination device), twice: once with the
 * wrapped device answering a success (booleans true, a completed stage), once with it answering
 * otherwise (booleans false, a failed stage, a thrown exception for a method without a result).
 * Each time the wrapped device must have received that method exactly once, with the very
 * arguments the wrapper got (the same buffer and device objects), and the wrapper must have
 * answered what the wrapped device answered: an equal value, the same exception, or a stage that
 * is the wrapped device's or completes as it did (within 10 s). A fresh wrapper is made for each
 * call, so {@code close()} is checked on an open one.
 *
 * <p>Calls from the test's thread; the helper starts no threads. Not thread-safe.
 */
public final class Forwarding {

    /** How long a wrapper's stage may take to complete once the wrapped device's stage has, in seconds. */
    private static final long WAIT_SECONDS = 10;
    /** What the recording device answers for {@code long} and {@code int} methods in the first round. */
    private static final long NUMBER_ANSWER = 1 << 20;

    private Forwarding() {
    }

    /**
     * Asserts that {@code wrap}'s devices pass every {@link BlockDevice} method on but those named.
     *
     * @param wrap         makes the wrapper under test around the device it is given
     * @param notForwarded methods (by name: every overload) the wrapper answers itself, each with
     *                     the reason why, for the reader of the test; these are not called
     * @return the methods checked, as {@code name(parameter types)}, in name order
     * @throws AssertionError           naming every method the wrapper does not pass on as it
     *                                  should, and what it did instead
     * @throws IllegalArgumentException if {@code notForwarded} names a method that
     *                                  {@code BlockDevice} does not have, or gives a blank reason
     */
    public static List<String> assertForwards(Function<BlockDevice, BlockDevice> wrap,
            Map<String, String> notForwarded) {
        Objects.requireNonNull(wrap, "wrap");
        Objects.requireNonNull(notForwarded, "notForwarded");
        List<Method> methods = interfaceMethods();
        checkExemptions(methods, notForwarded);
        List<String> checked = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        String wrapper = null;
        for (Method method : methods) {
            if (notForwarded.containsKey(method.getName())) {
                continue;
            }
            checked.add(signature(method));
            for (int round = 0; round < 2; round++) {
                Recorder recorder = new Recorder(method, round);
                BlockDevice inner = (BlockDevice) Proxy.newProxyInstance(BlockDevice.class.getClassLoader(),
                        new Class<?>[] {BlockDevice.class}, recorder);
                BlockDevice device = wrap.apply(inner);
                wrapper = device.getClass().getName();
                recorder.calls.clear();
                String problem = check(device, method, round, recorder);
                if (problem != null) {
                    problems.add(signature(method) + ": " + problem);
                    break;
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new AssertionError(wrapper + " does not pass on " + problems.size() + " BlockDevice method"
                    + (problems.size() == 1 ? "" : "s") + " to the device it wraps; forward each, or name it in "
                    + "notForwarded with the reason the wrapper answers it itself:\n  "
                    + String.join("\n  ", problems));
        }
        return List.copyOf(checked);
    }

    /** @return the interface's instance methods, default ones included, one per signature, in name order */
    private static List<Method> interfaceMethods() {
        Map<String, Method> bySignature = new LinkedHashMap<>();
        for (Method m : BlockDevice.class.getMethods()) {
            if (!Modifier.isStatic(m.getModifiers())) {
                // BlockDevice's own declaration wins over Closeable's and AutoCloseable's close().
                bySignature.merge(signature(m), m,
                        (a, b) -> a.getDeclaringClass() == BlockDevice.class ? a : b);
            }
        }
        List<Method> methods = new ArrayList<>(bySignature.values());
        methods.sort(Comparator.comparing(Forwarding::signature));
        return methods;
    }

    private static void checkExemptions(List<Method> methods, Map<String, String> notForwarded) {
        List<String> names = methods.stream().map(Method::getName).distinct().toList();
        for (Map.Entry<String, String> e : notForwarded.entrySet()) {
            if (!names.contains(e.getKey())) {
                throw new IllegalArgumentException("notForwarded names '" + e.getKey()
                        + "', which is not a method of BlockDevice (its methods: " + names + ")");
            }
            if (e.getValue() == null || e.getValue().isBlank()) {
                throw new IllegalArgumentException("notForwarded gives no reason for '" + e.getKey()
                        + "': say why the wrapper answers it itself");
            }
        }
    }

    /** @return null if the wrapper passed the call on and answered as the wrapped device did, else what it did */
    private static String check(BlockDevice device, Method method, int round, Recorder recorder) {
        Object[] arguments = new Object[method.getParameterCount()];
        Class<?>[] types = method.getParameterTypes();
        for (int i = 0; i < types.length; i++) {
            arguments[i] = sampleArgument(types[i], i, round);
            if (arguments[i] == null) {
                return "Forwarding has no sample argument of type " + types[i].getName() + "; teach it one";
            }
        }
        if (recorder.unanswerable != null) {
            return recorder.unanswerable;
        }
        Object result = null;
        Throwable thrown = null;
        try {
            result = method.invoke(device, arguments);
        } catch (InvocationTargetException e) {
            thrown = e.getCause();
        } catch (IllegalAccessException e) {
            return "cannot be called by reflection: " + e;
        }
        List<Object[]> received = recorder.calls.stream().filter(c -> c[0].equals(signature(method)))
                .map(c -> (Object[]) c[1]).toList();
        if (received.isEmpty()) {
            List<String> others = recorder.calls.stream().map(c -> (String) c[0]).distinct().toList();
            return "not passed on: the wrapped device received no call of it (it received " + others + ")"
                    + (thrown == null ? ", the wrapper answered " + describe(result) : ", the wrapper threw " + thrown);
        }
        if (received.size() > 1) {
            return "passed on " + received.size() + " times instead of once";
        }
        if (!sameArguments(arguments, received.get(0))) {
            return "passed on with other arguments: " + describe(received.get(0)) + " instead of "
                    + describe(arguments);
        }
        return compareAnswers(recorder.answerThrown, recorder.answer, thrown, result, round);
    }

    private static String compareAnswers(Throwable plannedThrown, Object planned, Throwable thrown, Object result,
            int round) {
        String when = round == 0 ? "when the wrapped device succeeded" : "when the wrapped device did not";
        if (plannedThrown != null) {
            return thrown == plannedThrown ? null
                    : when + " (it threw " + plannedThrown + "), the wrapper " + (thrown == null ? "returned normally"
                    : "threw " + thrown + " instead");
        }
        if (thrown != null) {
            return when + ", the wrapper threw " + thrown;
        }
        if (planned instanceof CompletionStage<?> stage) {
            return result == stage ? null : compareStages(stage, result, when);
        }
        return Objects.equals(planned, result) ? null
                : when + ", the wrapper answered " + describe(result) + " where the wrapped device answered "
                + describe(planned);
    }

    private static String compareStages(CompletionStage<?> planned, Object result, String when) {
        if (!(result instanceof CompletionStage<?> stage)) {
            return when + ", the wrapper answered " + describe(result) + " instead of a stage";
        }
        Outcome expected = Outcome.of(planned);
        Outcome actual = Outcome.of(stage);
        if (actual.timedOut) {
            return when + ", the wrapper's stage did not complete within " + WAIT_SECONDS + " s";
        }
        if (expected.failure != null) {
            return actual.failure == expected.failure ? null
                    : when + " (its stage failed with " + expected.failure + "), the wrapper's stage "
                    + (actual.failure == null ? "completed with " + describe(actual.value)
                    : "failed with " + actual.failure + " instead");
        }
        if (actual.failure != null) {
            return when + ", the wrapper's stage failed with " + actual.failure;
        }
        return Objects.equals(expected.value, actual.value) ? null
                : when + ", the wrapper's stage completed with " + describe(actual.value) + " where the wrapped "
                + "device's completed with " + describe(expected.value);
    }

    /** How a stage completed: its value, its failure (the cause a CompletableFuture wraps), or not in time. */
    private record Outcome(Object value, Throwable failure, boolean timedOut) {

        static Outcome of(CompletionStage<?> stage) {
            try {
                return new Outcome(stage.toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS), null, false);
            } catch (ExecutionException e) {
                return new Outcome(null, unwrapped(e.getCause()), false);
            } catch (TimeoutException e) {
                return new Outcome(null, null, true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for a wrapper's stage", e);
            }
        }

        private static Throwable unwrapped(Throwable t) {
            Throwable cause = t;
            while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                    && cause.getCause() != null) {
                cause = cause.getCause();
            }
            return cause;
        }
    }

    private static boolean sameArguments(Object[] given, Object[] received) {
        if (given.length != received.length) {
            return false;
        }
        for (int i = 0; i < given.length; i++) {
            boolean value = given[i] instanceof Number || given[i] instanceof Boolean || given[i] instanceof String;
            if (value ? !given[i].equals(received[i]) : given[i] != received[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * @return a sample argument: numbers that differ by position and round (small enough to be
     *         sectors of the recording device), a new buffer, the sample destination; null for a
     *         type this helper does not know
     */
    private static Object sampleArgument(Class<?> type, int index, int round) {
        long number = 8L * (index + 1) + round;
        if (type == long.class) {
            return number;
        }
        if (type == int.class) {
            return (int) number;
        }
        if (type == boolean.class) {
            return round == 0;
        }
        if (type == String.class) {
            return "sample argument " + index;
        }
        if (type == ByteBuffer.class) {
            return ByteBuffer.allocate(BlockDevice.SECTOR_SIZE * (index + 1));
        }
        if (type == BlockDevice.class) {
            return new SampleDestination();
        }
        return null;
    }

    static String signature(Method m) {
        return m.getName() + Arrays.stream(m.getParameterTypes()).map(Class::getSimpleName)
                .collect(Collectors.joining(", ", "(", ")"));
    }

    private static String describe(Object[] arguments) {
        return Arrays.stream(arguments).map(Forwarding::describe).collect(Collectors.joining(", ", "(", ")"));
    }

    private static String describe(Object o) {
        if (o == null || o instanceof Number || o instanceof Boolean || o instanceof String || o instanceof List) {
            return String.valueOf(o);
        }
        return o.getClass().getSimpleName() + "@" + Integer.toHexString(System.identityHashCode(o));
    }

    /**
     * The wrapped device: records every call and answers with what {@link #assertForwards}
     * expects back. The method under test answers as its round says; any other method (one the
     * wrapper calls on the side, such as {@code name()} for a message) as in the first round.
     */
    private static final class Recorder implements InvocationHandler {
        /** Each call: its signature and its arguments. */
        final List<Object[]> calls = Collections.synchronizedList(new ArrayList<>());
        private final String tested;
        /** The method under test's planned answer: a value (a stage for stage methods), or an exception. */
        final Object answer;
        final Throwable answerThrown;
        /** Why the method under test cannot be answered (a result type this helper does not know), or null. */
        final String unanswerable;

        Recorder(Method method, int round) {
            this.tested = signature(method);
            Object planned = null;
            Throwable plannedThrown = null;
            String problem = null;
            Class<?> type = method.getReturnType();
            if (type == void.class) {
                if (round == 1) {
                    plannedThrown = Arrays.asList(method.getExceptionTypes()).contains(IOException.class)
                            ? new IOException("planned failure of " + tested)
                            : new IllegalStateException("planned failure of " + tested);
                }
            } else if (type == CompletionStage.class) {
                Object value = stageValue(method.getGenericReturnType());
                if (value == Unknown.VALUE) {
                    problem = "Forwarding has no sample answer for " + method.getGenericReturnType()
                            + "; teach it one";
                } else {
                    planned = round == 0 ? CompletableFuture.completedFuture(value)
                            : CompletableFuture.failedFuture(new IOException("planned failure of " + tested));
                }
            } else {
                planned = answer(type, round);
                if (planned == null) {
                    problem = "Forwarding has no sample answer of type " + type.getName() + "; teach it one";
                }
            }
            this.answer = planned;
            this.answerThrown = plannedThrown;
            this.unanswerable = problem;
        }

        @Override
        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            switch (method.getName()) {
                case "toString":
                    if (method.getParameterCount() == 0) {
                        return "recording device";
                    }
                    break;
                case "hashCode":
                    if (method.getParameterCount() == 0) {
                        return System.identityHashCode(proxy);
                    }
                    break;
                case "equals":
                    if (method.getParameterCount() == 1 && method.getParameterTypes()[0] == Object.class) {
                        return proxy == args[0];
                    }
                    break;
                default:
                    break;
            }
            String signature = signature(method);
            calls.add(new Object[] {signature, args == null ? new Object[0] : args.clone()});
            if (signature.equals(tested)) {
                if (answerThrown != null) {
                    throw answerThrown;
                }
                return answer;
            }
            return sideAnswer(method);
        }

        /** An answer for a method other than the one under test, as in the first round. */
        private static Object sideAnswer(Method method) {
            Class<?> type = method.getReturnType();
            if (type == void.class) {
                return null;
            }
            if (type == CompletionStage.class) {
                Object value = stageValue(method.getGenericReturnType());
                return CompletableFuture.completedFuture(value == Unknown.VALUE ? null : value);
            }
            Object value = answer(type, 0);
            if (value == null && type.isPrimitive()) {
                throw new IllegalStateException("Forwarding has no sample answer of type " + type.getName()
                        + " for " + signature(method));
            }
            return value;
        }

        /** @return the answer of a method of this result type in a round, or null for a type unknown here */
        private static Object answer(Class<?> type, int round) {
            if (type == boolean.class) {
                return round == 0;
            }
            if (type == long.class) {
                return NUMBER_ANSWER + round;
            }
            if (type == int.class) {
                return (int) NUMBER_ANSWER + round;
            }
            if (type == String.class) {
                return "recording device, answer " + round;
            }
            return null;
        }

        /** @return what a completed stage of this type holds, or {@link Unknown#VALUE} */
        private static Object stageValue(Type stageType) {
            if (!(stageType instanceof ParameterizedType p)) {
                return Unknown.VALUE;
            }
            Type value = p.getActualTypeArguments()[0];
            if (value == Void.class) {
                return null;
            }
            if (value == IOException.class) {
                return new IOException("sample reason the device was lost");
            }
            if (value instanceof ParameterizedType list && list.getRawType() == List.class
                    && list.getActualTypeArguments()[0] == Extent.class) {
                return List.of(new Extent(8, 3, Extent.Type.DATA), new Extent(11, 5, Extent.Type.HOLE));
            }
            return Unknown.VALUE;
        }
    }

    /** Marks a stage value type this helper has no sample of. */
    private enum Unknown {
        VALUE
    }

    /** The sample destination of the offload methods: a device of its own, which does no I/O. */
    private static final class SampleDestination implements BlockDevice {
        @Override
        public String name() {
            return "sample destination";
        }

        @Override
        public long sizeInSectors() {
            return NUMBER_ANSWER;
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            return refused();
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            return refused();
        }

        @Override
        public CompletionStage<Void> flush() {
            return refused();
        }

        private static CompletionStage<Void> refused() {
            return CompletableFuture.failedStage(new IOException("the sample destination of Forwarding does no I/O"));
        }

        @Override
        public String toString() {
            return name();
        }
    }
}
