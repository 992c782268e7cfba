package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

import picocli.CommandLine;

/**
 * Ctrl-C or SIGTERM while {@code copy --verify} reads the destinations back: the shutdown hook,
 * registered again for the read-back, reports that the copy completed and nothing is verified,
 * and closing the files ends the read-back; the command returns the interruption's code.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VerifyInterruptionTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();
    private final RecordedHooks hooks = new RecordedHooks();
    private final CountDownLatch reading = new CountDownLatch(1);

    @AfterEach
    void close() {
        fixture.close();
    }

    /** A read-back device whose reads wait until it is closed, then fail as a closed file's would. */
    private final class StuckReads extends ForwardingDevice {
        private final CompletableFuture<Void> closed = new CompletableFuture<>();

        StuckReads(BlockDevice inner) {
            super(inner);
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            reading.countDown();
            return closed;
        }

        @Override
        public void close() throws IOException {
            closed.completeExceptionally(new java.nio.channels.ClosedChannelException());
            super.close();
        }
    }

    @Test
    void aSignalWhileVerifyingReportsNothingVerifiedAndEndsTheReadBack() throws Exception {
        Path src = image(dir, "src.img", 4 << 20, 1);
        Path a = dir.resolve("a.img");
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(), Map.of(), Map.of(a, StuckReads::new), false);
        CopyCommand copy = new CopyCommand(fixture.console());
        copy.hooks = hooks;
        new CommandLine(copy).parseArgs(src.toString(), a.toString(), "--verify", "--json");
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(copy::call);
        Thread copying = hooks.next();
        Thread verifying = hooks.next();
        assertThat(reading.await(20, TimeUnit.SECONDS)).as("the read-back started").isTrue();

        verifying.run();

        assertThat(code.get(20, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(verifying).isSameAs(copying);
        assertThat(hooks.removed).containsExactly(copying, verifying);
        assertThat(fixture.out()).isEqualTo("{\"result\":\"interrupted\",\"message\":\"interrupted while verifying "
                + "after the copy completed; destination not verified: " + a + "\",\"destinations\":[{\"path\":\"" + a
                + "\",\"sector\":0,\"error\":null,\"state\":\"complete\",\"verify\":{\"state\":\"skipped\","
                + "\"reason\":\"interrupted\"}}]}\n");
        assertThat(fixture.err()).isEmpty();
        assertThat(Files.mismatch(src, a)).isEqualTo(-1);
    }
}
