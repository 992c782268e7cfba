package org.kcopyd.cli.internal.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * Reading back and comparing: identical regions are ok, the first differing sector is found
 * exactly (absolute on the destination) with several workers and with the least budget, buffers
 * stay within the budget, and read failures are errors unless a difference came first.
 */
class RegionVerifierTest {

    private static final int SECTORS = 5000;
    private final byte[] data = new byte[SECTORS * BlockDevice.SECTOR_SIZE];

    RegionVerifierTest() {
        new Random(11).nextBytes(data);
    }

    private MemoryBlockDevice device(String name, long sectors, long at) {
        MemoryBlockDevice d = new MemoryBlockDevice(name, sectors);
        d.write(at, ByteBuffer.wrap(data)).toCompletableFuture().join();
        return d;
    }

    private static void flip(MemoryBlockDevice d, long byteOffset) {
        ByteBuffer b = ByteBuffer.allocate(BlockDevice.SECTOR_SIZE);
        long sector = byteOffset / BlockDevice.SECTOR_SIZE;
        d.read(sector, b).toCompletableFuture().join();
        int i = (int) (byteOffset % BlockDevice.SECTOR_SIZE);
        b.put(i, (byte) ~b.get(i));
        d.write(sector, b.flip()).toCompletableFuture().join();
    }

    /** Counts the bytes being read at once. */
    private static final class Counting extends ForwardingDevice {
        final AtomicInteger most = new AtomicInteger();
        final java.util.Set<Integer> sizes = java.util.concurrent.ConcurrentHashMap.newKeySet();

        Counting(BlockDevice inner) {
            super(inner);
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            most.accumulateAndGet(dst.remaining(), Math::max);
            sizes.add(dst.remaining());
            return inner.read(sector, dst);
        }
    }

    @Test
    void theFirstDifferingSectorIsFoundExactlyWithSeveralWorkers() {
        MemoryBlockDevice src = device("src", SECTORS + 10, 10);
        MemoryBlockDevice same = device("same", SECTORS, 0);
        MemoryBlockDevice early = device("early", SECTORS + 100, 100);
        MemoryBlockDevice late = device("late", SECTORS, 0);
        flip(early, (100 + 4321L) * BlockDevice.SECTOR_SIZE + 17);
        flip(early, (100 + 4400L) * BlockDevice.SECTOR_SIZE);
        flip(late, (SECTORS - 1L) * BlockDevice.SECTOR_SIZE + 511);
        RegionVerifier v = new RegionVerifier(64 * 1024, 4);

        List<Verdict> verdicts = v.verify(src, 10, SECTORS, List.of(new RegionVerifier.Destination(same, 0, 512),
                new RegionVerifier.Destination(early, 100, 512), new RegionVerifier.Destination(late, 0, 4096)));

        assertThat(v.workers()).isEqualTo(4);
        assertThat(v.chunkBytes()).isEqualTo(8192);
        assertThat(verdicts).containsExactly(Verdict.ok(), Verdict.mismatch(100 + 4321), Verdict.mismatch(SECTORS - 1));
    }

    @Test
    void theLeastBudgetComparesOneSectorAtATimeAndNoReadExceedsIt() {
        MemoryBlockDevice src = device("src", SECTORS, 0);
        MemoryBlockDevice dst = device("dst", SECTORS, 0);
        flip(dst, 3000L * BlockDevice.SECTOR_SIZE + 5);
        Counting counting = new Counting(dst);
        RegionVerifier v = new RegionVerifier(1024, 4);

        List<Verdict> verdicts = v.verify(src, 0, 4000, List.of(new RegionVerifier.Destination(counting, 0, 512)));

        assertThat(v.workers()).isEqualTo(1);
        assertThat(v.chunkBytes()).isEqualTo(512);
        assertThat(counting.most).hasValue(512);
        assertThat(verdicts).containsExactly(Verdict.mismatch(3000));
    }

    @Test
    void anAlignedDestinationIsReadInAlignedRequestsAndItsRemainderApart() {
        MemoryBlockDevice src = device("src", SECTORS, 0);
        MemoryBlockDevice dst = device("dst", SECTORS, 0);
        Counting counting = new Counting(dst);
        RegionVerifier v = new RegionVerifier(1 << 19, 1);

        // 4999 sectors: chunks of 512 sectors, the last one 391 = 48 aligned pages (384 sectors) + 7 sectors.
        List<Verdict> verdicts = v.verify(src, 0, SECTORS - 1, List.of(new RegionVerifier.Destination(counting, 0, 4096)));

        assertThat(verdicts).containsExactly(Verdict.ok());
        assertThat(v.chunkBytes()).isEqualTo(256 * 1024);
        assertThat(counting.sizes).containsExactlyInAnyOrder(256 * 1024, 384 * 512, 7 * 512);
    }

    @Test
    void aDestinationThatCannotBeReadIsAnErrorUnlessADifferenceCameFirst() {
        MemoryBlockDevice src = device("src", SECTORS, 0);
        MemoryBlockDevice differs = device("differs", SECTORS, 0);
        flip(differs, 10);
        BlockDevice failingDiffers = failingFrom(differs, 2000);
        BlockDevice failing = failingFrom(device("failing", SECTORS, 0), 2000);

        List<Verdict> verdicts = new RegionVerifier(1 << 16, 2).verify(src, 0, SECTORS,
                List.of(new RegionVerifier.Destination(failingDiffers, 0, 512),
                        new RegionVerifier.Destination(failing, 0, 512)));

        assertThat(verdicts.get(0)).isEqualTo(Verdict.mismatch(0));
        assertThat(verdicts.get(1).state()).isEqualTo(Verdict.State.ERROR);
        assertThat(verdicts.get(1).failure()).hasMessage("EIO on failing at sector 2000");
    }

    @Test
    void aSourceThatCannotBeReadBackLeavesUndecidedDestinationsWithASourceError() {
        BlockDevice src = failingFrom(device("src", SECTORS, 0), 100);
        List<Verdict> verdicts = new RegionVerifier(1 << 16, 2).verify(src, 0, SECTORS,
                List.of(new RegionVerifier.Destination(device("dst", SECTORS, 0), 0, 512)));

        assertThat(verdicts.get(0).state()).isEqualTo(Verdict.State.SOURCE_ERROR);
        assertThat(verdicts.get(0).failure()).hasMessage("reading the source src back failed: EIO on src at sector 100");
    }

    @Test
    void aBudgetBelowTwoSectorsOrBadThreadsAreRefusedNamingTheLimit() {
        assertThatThrownBy(() -> new RegionVerifier(1023, 1))
                .hasMessage("verify budget 1023 bytes is below the least, 1024 (a source and a destination sector)");
        assertThatThrownBy(() -> new RegionVerifier(4096, 0)).hasMessage("verify threads 0 is outside 1..64");
    }

    /** A device whose reads fail from {@code fromSector} on. */
    private static BlockDevice failingFrom(BlockDevice inner, long fromSector) {
        return new ForwardingDevice(inner) {
            @Override
            public CompletionStage<Void> read(long sector, ByteBuffer dst) {
                long end = sector + dst.remaining() / SECTOR_SIZE;
                return end > fromSector ? CompletableFuture.failedStage(new IOException("EIO on " + name()
                        + " at sector " + Math.max(sector, fromSector))) : inner.read(sector, dst);
            }
        };
    }
}
