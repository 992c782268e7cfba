package org.kcopyd.cli.internal.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * The hashing view of a source: reads completing in any order hash as the region in order;
 * copies of early completions stay within the limit and completions beyond it are held back
 * until the digest reaches them; a failed, repeated or outside read leaves no digest.
 */
class DigestingDeviceTest {

    private static final int SECTORS = 64;

    private final byte[] data = new byte[SECTORS * BlockDevice.SECTOR_SIZE];
    private final MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
    private final HeldReads source = new HeldReads(memory);

    DigestingDeviceTest() {
        new Random(7).nextBytes(data);
        memory.write(0, ByteBuffer.wrap(data)).toCompletableFuture().join();
    }

    /** A device whose reads complete only when the test says so. */
    private static final class HeldReads extends ForwardingDevice {
        final List<CompletableFuture<Void>> pending = new ArrayList<>();

        HeldReads(BlockDevice inner) {
            super(inner);
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            inner.read(sector, dst).toCompletableFuture().join();
            pending.add(done);
            return done;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private byte[] expected(int fromSector, int sectors, byte[] tail) {
        MessageDigest md = sha256();
        md.update(data, fromSector * BlockDevice.SECTOR_SIZE, sectors * BlockDevice.SECTOR_SIZE);
        if (tail != null) {
            md.update(tail);
        }
        return md.digest();
    }

    /** Issues reads of {@code chunk} sectors over [from, from+count) and returns their stages. */
    private List<CompletableFuture<Void>> readAll(DigestingDevice d, int from, int count, int chunk) {
        List<CompletableFuture<Void>> stages = new ArrayList<>();
        for (int s = from; s < from + count; s += chunk) {
            int n = Math.min(chunk, from + count - s);
            stages.add(d.read(s, ByteBuffer.allocate(n * BlockDevice.SECTOR_SIZE)).toCompletableFuture());
        }
        return stages;
    }

    /**
     * Every method the view does not answer itself goes to the source, and each one it answers
     * itself is named with the reason: a method the API gains fails this test until decided.
     */
    @Test
    void passesOnWhatItDoesNotDecideItself() {
        String readOnly = "a read-only view: refused or nothing to do, never passed to the source";
        String allRead = "every byte must be read to be hashed: the engine must not skip holes or let the kernel copy";
        String sectors = "the view is the hashed region of whole sectors; the command reads the source's last bytes "
                + "from the source itself and hashes them after the view's digest";
        List<String> checked = org.kcopyd.testdevices.Forwarding.assertForwards(
                inner -> new DigestingDevice(inner, sha256(), 0, 0, 0), java.util.Map.ofEntries(
                        java.util.Map.entry("read", "hashes what it reads, in order"),
                        java.util.Map.entry("isReadOnly", readOnly), java.util.Map.entry("write", readOnly),
                        java.util.Map.entry("flush", readOnly), java.util.Map.entry("supportsWriteZeroes", readOnly),
                        java.util.Map.entry("writeZeroes", readOnly), java.util.Map.entry("supportsDiscard", readOnly),
                        java.util.Map.entry("discard", readOnly), java.util.Map.entry("requiresSequentialWrites", readOnly),
                        java.util.Map.entry("extents", allRead), java.util.Map.entry("canOffloadTo", allRead),
                        java.util.Map.entry("offloadBeatsPagesTo", allRead), java.util.Map.entry("offloadTo", allRead),
                        java.util.Map.entry("tailBytes", sectors), java.util.Map.entry("readTail", sectors),
                        java.util.Map.entry("writeTail", readOnly)));
        assertThat(checked).containsExactly("close()", "isNonBlocking()", "minimumBlockBytes()", "name()",
                "sizeInSectors()", "whenLost()");
    }

    /**
     * Found by H26: HotSpot's SHA-256 ran ten times slower on the engine's I/O threads than on a thread of
     * its own (an 8 GiB {@code copy --hash} took 128 s). The digest is updated on the view's hasher thread,
     * never on the thread that completed the read, which waits for it; the digest is still the region's.
     */
    @Test
    void theDigestIsUpdatedOnAHasherThreadNotOnTheThreadThatCompletedTheRead() throws Exception {
        java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        MessageDigest inner = sha256();
        MessageDigest recording = new MessageDigest("SHA-256") {
            @Override
            protected void engineUpdate(byte input) {
                threads.add(Thread.currentThread().getName());
                inner.update(input);
            }

            @Override
            protected void engineUpdate(byte[] input, int offset, int len) {
                threads.add(Thread.currentThread().getName());
                inner.update(input, offset, len);
            }

            @Override
            protected byte[] engineDigest() {
                return inner.digest();
            }

            @Override
            protected void engineReset() {
                inner.reset();
            }
        };
        DigestingDevice view = new DigestingDevice(source, recording, 0, SECTORS, 1 << 20);
        view.read(8, ByteBuffer.allocateDirect(8 * BlockDevice.SECTOR_SIZE));
        view.read(0, ByteBuffer.allocateDirect(8 * BlockDevice.SECTOR_SIZE));
        view.read(16, ByteBuffer.allocateDirect((SECTORS - 16) * BlockDevice.SECTOR_SIZE));
        source.pending.get(1).complete(null);
        source.pending.get(0).complete(null);
        source.pending.get(2).complete(null);

        assertThat(view.digest(null)).isEqualTo(sha256().digest(data));
        assertThat(threads).isNotEmpty().allMatch(t -> t.equals("kcopyd-hash mem"));
        view.close();
    }

    @Test
    void aViewAnswersForAReadOnlyDeviceThatReadsEverything() {
        DigestingDevice view = new DigestingDevice(memory, sha256(), 0, SECTORS, 0);
        MemoryBlockDevice other = new MemoryBlockDevice("other", SECTORS);
        assertThat(view.isReadOnly()).isTrue();
        assertThat(view.supportsWriteZeroes()).isFalse();
        assertThat(view.supportsDiscard()).isFalse();
        assertThat(view.canOffloadTo(other)).isFalse();
        assertThat(view.extents(0, SECTORS).toCompletableFuture().join()).as("all data, so that every byte is read")
                .containsExactly(new org.kcopyd.api.Extent(0, SECTORS, org.kcopyd.api.Extent.Type.DATA));
        assertThatThrownBy(() -> view.write(0, ByteBuffer.allocate(512)).toCompletableFuture().join())
                .hasMessageContaining("is read-only (hashed source)");
    }

    /** H48-1: the view is its source for the engine's overlap check, whichever region asks. */
    @Test
    void aViewIsEqualToItsSourceSoARegionOfItOverlapsTheSources() {
        DigestingDevice view = new DigestingDevice(memory, sha256(), 0, SECTORS, 0);
        assertThat(view).isEqualTo(memory).hasSameHashCodeAs(memory)
                .isEqualTo(new DigestingDevice(memory, sha256(), 0, SECTORS, 0))
                .isNotEqualTo(new MemoryBlockDevice("other", SECTORS));
        assertThat(org.kcopyd.api.IoRegion.of(memory, 8, 8).overlaps(org.kcopyd.api.IoRegion.of(view, 0, 16))).isTrue();
    }

    @Test
    void readsCompletingInReverseHashAsTheRegionInOrderWithCopiesWithinTheLimit() {
        DigestingDevice d = new DigestingDevice(source, sha256(), 0, SECTORS, 1 << 20);
        List<CompletableFuture<Void>> stages = readAll(d, 0, SECTORS, 8);
        for (int i = source.pending.size() - 1; i >= 0; i--) {
            source.pending.get(i).complete(null);
            assertThat(stages.get(i)).isCompleted();
        }

        assertThat(d.digest(null)).isEqualTo(expected(0, SECTORS, null));
        assertThat(d.mostHeldBytes()).isEqualTo(7 * 8 * BlockDevice.SECTOR_SIZE);
        assertThat(d.deferredCompletions()).isZero();
    }

    @Test
    void beyondTheLimitCompletionsAreHeldBackUntilTheDigestReachesThem() {
        int chunkBytes = 8 * BlockDevice.SECTOR_SIZE;
        DigestingDevice d = new DigestingDevice(source, sha256(), 0, SECTORS, 2L * chunkBytes);
        List<CompletableFuture<Void>> stages = readAll(d, 0, SECTORS, 8);
        for (int i = 7; i >= 1; i--) {
            source.pending.get(i).complete(null);
        }
        // Chunks 7 and 6 were copied; 5..1 wait with their buffers, as the engine's pages would.
        assertThat(stages.subList(6, 8)).allMatch(CompletableFuture::isDone);
        assertThat(stages.subList(1, 6)).noneMatch(CompletableFuture::isDone);
        assertThat(d.mostHeldBytes()).isEqualTo(2L * chunkBytes);
        assertThat(d.deferredCompletions()).isEqualTo(5);

        source.pending.get(0).complete(null);

        assertThat(stages).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
        assertThat(d.digest(null)).isEqualTo(expected(0, SECTORS, null));
    }

    @Test
    void aRegionWithATailHashesTheTailLast() {
        byte[] tail = {1, 2, 3};
        DigestingDevice d = new DigestingDevice(source, sha256(), 5, 20, 0);
        readAll(d, 5, 20, 3);
        source.pending.forEach(f -> f.complete(null));

        assertThat(d.digest(ByteBuffer.wrap(tail))).isEqualTo(expected(5, 20, tail));
        assertThatThrownBy(() -> d.digest(null)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("taken already");
    }

    @Test
    void aFailedReadLeavesNoDigestAndReleasesHeldCompletions() {
        DigestingDevice d = new DigestingDevice(source, sha256(), 0, SECTORS, 0);
        List<CompletableFuture<Void>> stages = readAll(d, 0, 16, 8);
        source.pending.get(1).complete(null);
        assertThat(stages.get(1)).isNotDone();

        source.pending.get(0).completeExceptionally(new IOException("EIO at sector 3"));

        assertThat(stages.get(0)).isCompletedExceptionally();
        assertThat(stages.get(1)).isCompleted();
        assertThatThrownBy(() -> d.digest(null)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("reading sectors [0, 8) failed: EIO at sector 3");
    }

    @Test
    void aRepeatedReadOrOneOutsideTheRegionLeavesNoDigest() {
        DigestingDevice d = new DigestingDevice(source, sha256(), 0, 16, 1 << 20);
        readAll(d, 0, 8, 8);
        d.read(0, ByteBuffer.allocate(8 * BlockDevice.SECTOR_SIZE));
        source.pending.forEach(f -> f.complete(null));

        assertThatThrownBy(() -> d.digest(null)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sectors [0, 8) were read outside the region [8, 16) still to hash, or twice");
    }

    @Test
    void aRegionNotReadWholeHasNoDigestAndWritesAreRefused() {
        DigestingDevice d = new DigestingDevice(source, sha256(), 0, 16, 1 << 20);
        readAll(d, 8, 8, 8);
        source.pending.forEach(f -> f.complete(null));

        assertThatThrownBy(() -> d.digest(null)).hasMessageContaining("sectors [0, 16) were not read");
        assertThat(d.write(0, ByteBuffer.allocate(512)).toCompletableFuture()).isCompletedExceptionally();
        assertThatThrownBy(() -> new DigestingDevice(source, sha256(), 60, 8, 0))
                .hasMessageContaining("region of 8 sectors at sector 60 is not within mem (64 sectors)");
    }
}
