package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.mirror.internal.MirrorFixture.REGION;
import static org.kcopyd.mirror.internal.MirrorFixture.random;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * A mirror killed during the full resync of a new leg resumes where it stopped (dm-raid1's disk
 * log): the regions copied to the leg before the kill are not copied again, the others are, and
 * the leg ends identical to leg 0. The kill comes while copies have written the new leg but not
 * yet flushed it ({@link FullResyncCrashChild}): those regions' bits are still set, and so is the
 * bit of a copied region written again whose flush on the new leg is held. A log that
 * does not track its full resync (written before the mark existed) starts it over from region 0.
 * A mirror stopped (closed) mid-resync resumes the same way.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MirrorFullResyncCrashTest {

    private static final int SECTORS = 4096;
    private static final int REGIONS = SECTORS / REGION;
    private static final int HEADER_BYTES = RegionLog.HEADER_SECTORS * 512;

    @TempDir
    Path dir;

    @Test
    void aFullResyncKilledTwiceResumesWithOnlyTheRegionsItHadNotCopied() throws Exception {
        byte[] data = random(SECTORS * 512, 41);
        Files.write(leg(0), data);
        Files.write(leg(1), pattern());

        assertThat(runChildUntilKilled(5)).as("a new leg: every region to copy").isEqualTo(REGIONS);
        int firstWritten = writtenAfterCopy;
        BitSet afterFirst = bitmap();
        assertThat(firstWritten).as("the child wrote a copied region").isNotNegative();
        assertThat(afterFirst.get(firstWritten)).as("region " + firstWritten + " written again after its copy, its "
                + "flush on leg 1 held: its bit is set again and stays set").isTrue();
        assertThat(afterFirst.cardinality()).as("5 regions copied and flushed before the kill, one written again")
                .isEqualTo(REGIONS - 5 + 1);
        assertThat(afterFirst.get(REGIONS - 1)).isTrue();
        assertCopied(afterFirst);
        assertThat(trackedMask()).as("leg 1's full resync is tracked in the bitmap").isEqualTo(0b10);

        assertThat(runChildUntilKilled(7)).as("the restarted resync takes only the regions not copied yet, and the "
                + "one written again").isEqualTo(REGIONS - 4);
        int secondWritten = writtenAfterCopy;
        BitSet afterSecond = bitmap();
        assertThat(afterSecond.get(secondWritten)).isTrue();
        assertThat(afterSecond.cardinality()).isEqualTo(REGIONS - 4 - 7 + 1);
        BitSet newlyCopied = (BitSet) afterFirst.clone();
        newlyCopied.andNot(afterSecond);
        assertThat(newlyCopied.cardinality()).isEqualTo(afterFirst.get(secondWritten) ? 6 : 7);
        BitSet recopiedOrDirtied = (BitSet) afterSecond.clone();
        recopiedOrDirtied.andNot(afterFirst);
        BitSet onlyTheWrittenRegion = new BitSet();
        if (!afterFirst.get(secondWritten)) {
            onlyTheWrittenRegion.set(secondWritten);
        }
        assertThat(recopiedOrDirtied).as("no region copied in the first run is due again, but the one written again")
                .isEqualTo(onlyTheWrittenRegion);
        assertCopied(afterSecond);

        BitSet written = finishAndRecordRegionsWritten();
        assertThat(written).as("the last run copies exactly the regions left, none copied before").isEqualTo(afterSecond);
        assertThat(Files.readAllBytes(leg(1))).as("leg 1 ends identical to leg 0").isEqualTo(Files.readAllBytes(leg(0)));
        assertThat(bitmap().isEmpty()).isTrue();
        assertThat(trackedMask()).as("in sync: no resync to track").isZero();
    }

    @Test
    void aFullResyncKilledBeforeItsFirstRegionWasFlushedStartsFromRegionZero() throws Exception {
        byte[] data = random(SECTORS * 512, 42);
        Files.write(leg(0), data);
        Files.write(leg(1), pattern());

        assertThat(runChildUntilKilled(0)).isEqualTo(REGIONS);
        BitSet afterKill = bitmap();
        assertThat(afterKill.cardinality()).as("copies written to leg 1 but not flushed leave their bits set")
                .isEqualTo(REGIONS);

        BitSet written = finishAndRecordRegionsWritten();
        BitSet all = new BitSet();
        all.set(0, REGIONS);
        assertThat(written).isEqualTo(all);
        assertThat(Files.readAllBytes(leg(1))).isEqualTo(Files.readAllBytes(leg(0)));
    }

    /**
     * Closed while copies wait for their flush: those copies end after the close began, so their
     * regions stay set; the regions flushed before are not copied again at the next start.
     */
    @Test
    void aFullResyncStoppedMidwayResumesWithTheRegionsItHadNotCopied() throws Exception {
        byte[] data = random(SECTORS * 512, 45);
        Files.write(leg(0), data);
        Files.write(leg(1), pattern());
        try (MirrorFixture fixture = new MirrorFixture()) {
            // 1 + 9: the start's flush of every leg, then one per region copied.
            HeldFlushes leg1 = new HeldFlushes(fixture.leg(leg(1), null), 1 + 9);
            MirrorVolume mirror = fixture.mirror(log(), List.of(leg(0), leg(1)), List.of(fixture.leg(leg(0), null), leg1));
            await().atMost(Duration.ofSeconds(30)).until(() -> mirror.status().regionsResynced() == 9
                    && leg1.heldCount() > 0);
            Thread closer = new Thread(mirror::close, "closer");
            closer.start();
            // Waiting for the copies in flight to drain: the mirror is closed by then.
            await().atMost(Duration.ofSeconds(30)).until(() -> closer.getState() == Thread.State.TIMED_WAITING);
            leg1.release();
            closer.join(Duration.ofSeconds(30).toMillis());
            assertThat(closer.isAlive()).isFalse();
        }
        assertThat(bitmap().cardinality()).isEqualTo(REGIONS - 9);
        BitSet left = bitmap();
        assertThat(finishAndRecordRegionsWritten()).isEqualTo(left);
        assertThat(Files.readAllBytes(leg(1))).isEqualTo(data);
    }

    /**
     * A version 3 log written before the tracking mark existed holds zero where the mark is: its
     * resyncing leg is resynced from region 0, whatever its bitmap says, and tracked from then on.
     */
    @Test
    void aLogWithoutTheMarkStartsItsFullResyncOverAndTracksItFromThenOn() throws Exception {
        byte[] data = random(SECTORS * 512, 43);
        Files.write(leg(0), data);
        Files.write(leg(1), pattern());
        try (MirrorFixture fixture = new MirrorFixture()) {
            fixture.kcopyd.unbind(fixture.engine);
            MirrorVolume mirror = fixture.mirror(log(), List.of(leg(0), leg(1)),
                    List.of(fixture.leg(leg(0), null), fixture.leg(leg(1), null)));
            assertThat(mirror.status().legs().get(1).state()).isEqualTo(LegState.RESYNCING);
            mirror.close();
        }
        // As a kcopyd without the mark left it: a zero mask, and a bitmap with only a few regions set.
        rewriteHeader(h -> h.putInt(RegionLog.TRACKED_AT, 0));
        byte[] file = Files.readAllBytes(log());
        Arrays.fill(file, RegionLog.BITMAP_START * 512, file.length, (byte) 0);
        file[RegionLog.BITMAP_START * 512] = 0b101;
        Files.write(log(), file);

        try (MirrorFixture fixture = new MirrorFixture()) {
            fixture.kcopyd.unbind(fixture.engine);
            MirrorVolume mirror = fixture.mirror(log(), List.of(leg(0), leg(1)),
                    List.of(fixture.leg(leg(0), null), fixture.leg(leg(1), null)));
            assertThat(bitmap().cardinality()).as("every bit set again before the mirror starts").isEqualTo(REGIONS);
            assertThat(trackedMask()).isEqualTo(0b10);
            mirror.close();
        }
        BitSet all = new BitSet();
        all.set(0, REGIONS);
        assertThat(finishAndRecordRegionsWritten()).isEqualTo(all);
        assertThat(Files.readAllBytes(leg(1))).isEqualTo(data);
    }

    @Test
    void aLogMarkingALegInSyncAsTrackedIsRefused() throws Exception {
        Files.write(leg(0), random(SECTORS * 512, 44));
        Files.write(leg(1), random(SECTORS * 512, 44));
        try (MirrorFixture fixture = new MirrorFixture()) {
            MirrorVolume mirror = fixture.mirror(log(), List.of(leg(0), leg(1)),
                    List.of(fixture.leg(leg(0), null), fixture.leg(leg(1), null)));
            mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        rewriteHeader(h -> h.putInt(RegionLog.TRACKED_AT, 0b01));
        byte[] before = Files.readAllBytes(log());

        try (MirrorFixture fixture = new MirrorFixture()) {
            assertThatThrownBy(() -> fixture.mirror(log(), List.of(leg(0), leg(1)),
                    List.of(fixture.leg(leg(0), null), fixture.leg(leg(1), null))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("copy 1: inconsistent record of leg 0 under a correct checksum");
        }
        assertThat(Files.readAllBytes(log())).as("nothing written to a refused log").isEqualTo(before);
    }

    private Path leg(int i) {
        return dir.resolve("leg" + i + ".img");
    }

    private Path log() {
        return dir.resolve("log");
    }

    /** What leg 1 holds before any copy: not leg 0's data anywhere. */
    private static byte[] pattern() {
        byte[] b = new byte[SECTORS * 512];
        Arrays.fill(b, (byte) 0x5a);
        return b;
    }

    /** The region the last child wrote after its copy ({@code wrote copied region R}), or -1. */
    private int writtenAfterCopy = -1;

    /**
     * Runs {@link FullResyncCrashChild} with {@code passing} flushes of leg 1 let through, then kills it.
     *
     * @return the regions the child's resync had to copy
     */
    private long runChildUntilKilled(int passing) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                FullResyncCrashChild.class.getName(), dir.toString(), String.valueOf(passing))
                .redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        long total = -1;
        boolean stalled = false;
        writtenAfterCopy = -1;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
            String line;
            while (!stalled && (line = out.readLine()) != null) {
                output.append(line).append('\n');
                if (line.startsWith("total ")) {
                    total = Long.parseLong(line.substring(6));
                }
                if (line.startsWith("wrote copied region ")) {
                    writtenAfterCopy = Integer.parseInt(line.substring("wrote copied region ".length()));
                }
                stalled = line.equals("stalled");
            }
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(stalled).as("the child stalled its resync; its output:\n" + output).isTrue();
        return total;
    }

    /** The log's bitmap: the regions still to resync. */
    private BitSet bitmap() throws IOException {
        byte[] file = Files.readAllBytes(log());
        BitSet bits = BitSet.valueOf(Arrays.copyOfRange(file, RegionLog.BITMAP_START * 512, file.length));
        return bits.get(0, REGIONS);
    }

    private int trackedMask() throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(log())).order(ByteOrder.LITTLE_ENDIAN).getInt(RegionLog.TRACKED_AT);
    }

    /** Every region whose bit is clear holds leg 0's data on leg 1 (the child's writes reached both legs). */
    private void assertCopied(BitSet dirty) throws IOException {
        byte[] a = Files.readAllBytes(leg(0));
        byte[] b = Files.readAllBytes(leg(1));
        for (int r = dirty.nextClearBit(0); r < REGIONS; r = dirty.nextClearBit(r + 1)) {
            int from = r * REGION * 512;
            assertThat(Arrays.copyOfRange(b, from, from + REGION * 512)).as("region " + r + " on leg 1")
                    .isEqualTo(Arrays.copyOfRange(a, from, from + REGION * 512));
        }
    }

    /** Opens the mirror here, leg 1's writes recorded, until it is in sync; closes it. */
    private BitSet finishAndRecordRegionsWritten() throws Exception {
        BitSet written = new BitSet();
        try (MirrorFixture fixture = new MirrorFixture()) {
            BlockDevice recording = new ForwardingDevice(fixture.leg(leg(1), null)) {
                @Override
                public CompletionStage<Void> write(long sector, ByteBuffer src) {
                    synchronized (written) {
                        written.set((int) (sector / REGION), (int) ((sector + src.remaining() / 512 - 1) / REGION) + 1);
                    }
                    return inner.write(sector, src);
                }
            };
            MirrorVolume mirror = fixture.mirror(log(), List.of(leg(0), leg(1)),
                    List.of(fixture.leg(leg(0), null), recording));
            mirror.whenInSync().toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertThat(mirror.status().legs()).allSatisfy(l -> assertThat(l.state()).isEqualTo(LegState.IN_SYNC));
            assertThat(mirror.status().regionsResynced()).isEqualTo(written.cardinality());
        }
        synchronized (written) {
            return (BitSet) written.clone();
        }
    }

    /** Lets the first flushes through and holds the later ones until {@link #release()}; lets all through then. */
    private static final class HeldFlushes extends ForwardingDevice {
        private final int passing;
        private final AtomicInteger flushes = new AtomicInteger();
        private final List<CompletableFuture<Void>> held = new ArrayList<>();
        private boolean released;

        HeldFlushes(BlockDevice inner, int passing) {
            super(inner);
            this.passing = passing;
        }

        @Override
        public CompletionStage<Void> flush() {
            if (flushes.incrementAndGet() <= passing) {
                return inner.flush();
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            synchronized (held) {
                if (released) {
                    return inner.flush();
                }
                held.add(f);
            }
            return f;
        }

        int heldCount() {
            synchronized (held) {
                return held.size();
            }
        }

        void release() {
            List<CompletableFuture<Void>> now;
            synchronized (held) {
                released = true;
                now = new ArrayList<>(held);
            }
            inner.flush().toCompletableFuture().join();
            now.forEach(f -> f.complete(null));
        }
    }

    /** Changes both header copies of the log and gives them their CRC-32C again. */
    private void rewriteHeader(java.util.function.Consumer<ByteBuffer> change) throws IOException {
        byte[] file = Files.readAllBytes(log());
        for (int copy = 0; copy < 2; copy++) {
            ByteBuffer h = ByteBuffer.wrap(file, copy * HEADER_BYTES, HEADER_BYTES).slice().order(ByteOrder.LITTLE_ENDIAN);
            change.accept(h);
            h.putInt(28, 0);
            CRC32C crc = new CRC32C();
            crc.update(file, copy * HEADER_BYTES, HEADER_BYTES);
            h.putInt(28, (int) crc.getValue());
        }
        Files.write(log(), file);
    }
}
