package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.settings;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.snapshot.SnapshotState;

/**
 * Closing an origin (its last snapshot leaves, or the bundle stops) loses no chunk: new writes
 * are refused at once, a write in flight either completes with its copy before the origin
 * closes or fails with its copy, and the snapshot stays valid and is adopted again. The copies
 * here wait for a kcopyd factory that is not bound yet, which holds them in flight.
 */
class SnapshotDetachTest {

    private static final int SECTORS = 2048;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private final Origins origins = new Origins();
    private Path origin;
    private Path cow;
    private byte[] initial;

    @BeforeEach
    void makeOrigin() throws Exception {
        initial = pattern(SECTORS * 512, 1);
        origin = Files.write(dir.resolve("o.img"), initial);
        cow = dir.resolve("s1.cow");
        origins.activate(framework.context());
    }

    @AfterEach
    void close() {
        origins.deactivate();
        fixture.close();
    }

    private static void await(String what, BooleanSupplier done) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    /** Reopens s1 with a fresh Origins and asserts that it is valid and holds the data of its moment. */
    private void assertAdoptedAgainIntact(SnapshotVolume s1, byte[] originNow) throws Exception {
        Origins again = fixture.origins(new FakeFramework());
        SnapshotVolume reopened = again.attach(settings("s1", origin, cow, s1.cowStoreId(), false), null);
        assertThat(reopened.state()).isEqualTo(SnapshotState.ACTIVE);
        assertSameBytes(read(reopened.device()), initial, "the snapshot");
        assertSameBytes(read(reopened.origin), originNow, "the origin");
        again.detach(reopened);
    }

    @Test
    void anOriginWriteInFlightWhenTheLastSnapshotLeavesLandsWithItsCopyAndNewOnesAreRefused() throws Exception {
        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, null, false), null);
        byte[] data = pattern(16 * 512, 2);
        CompletableFuture<Void> inFlight = s1.origin.write(0, ByteBuffer.wrap(data)).toCompletableFuture();

        CompletableFuture<Void> detached = CompletableFuture.runAsync(() -> origins.detach(s1));
        await("the origin closing", s1.origin::isClosing);

        assertThatThrownBy(() -> s1.origin.write(160, ByteBuffer.wrap(data)).toCompletableFuture().get(1,
                TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause().isInstanceOf(IOException.class)
                .hasMessageContaining("origin " + s1.origin.name() + " closed");
        assertThatThrownBy(() -> s1.device().write(0, ByteBuffer.wrap(data)).toCompletableFuture().get(1,
                TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause().isInstanceOf(IOException.class)
                .hasMessageContaining("closed");
        assertThat(detached).as("the detach waits for the write in flight").isNotDone();
        assertThat(inFlight).isNotDone();

        origins.bindFactory(fixture.engine);

        inFlight.get(10, TimeUnit.SECONDS);
        detached.get(10, TimeUnit.SECONDS);
        byte[] expected = initial.clone();
        System.arraycopy(data, 0, expected, 0, data.length);
        assertSameBytes(Files.readAllBytes(origin), expected, "the origin file");
        assertAdoptedAgainIntact(s1, expected);
    }

    @Test
    void anOriginWriteWhoseCopyFailsWhileTheBundleStopsFailsAndTheSnapshotStaysValid() throws Exception {
        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, null, false), null);
        CompletableFuture<Void> inFlight = s1.origin.write(0, ByteBuffer.wrap(pattern(16 * 512, 2)))
                .toCompletableFuture();

        // No factory comes: the copy fails after its wait, during the stop's drain.
        origins.deactivate();

        assertThatThrownBy(() -> inFlight.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(IOException.class).hasMessageContaining("refused: chunk 0 could not be copied");
        assertThat(s1.state()).isEqualTo(SnapshotState.ACTIVE);
        assertSameBytes(Files.readAllBytes(origin), initial, "the origin file");
        assertAdoptedAgainIntact(s1, initial);
    }
}
