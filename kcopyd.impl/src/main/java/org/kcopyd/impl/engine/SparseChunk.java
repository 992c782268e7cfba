package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.Extent;

/**
 * The plan of one chunk of a {@link CopyFlag#SPARSE} copy: the chunk cut into segments, each
 * data (read, then written) or zeros (not read; a hole, a skipped write or written zeros at each
 * destination). Built in three steps on the sub-job's I/O thread: {@link #plan} from the source's
 * extents (what to read), {@link #findZeros} over what was read (which data is zeros after all),
 * then read only by the destinations' writes.
 *
 * <p>Offsets and lengths are in sectors from the chunk's start. Reused by its sub-job from chunk
 * to chunk; at most one segment per sector, grown on demand. Not thread-safe: one chunk at a
 * time, handed between threads through the sub-job's completions.
 */
final class SparseChunk {

    private static final int SECTOR = BlockDevice.SECTOR_SIZE;
    private static final int BLOCK_SECTORS = CopyFlag.SPARSE_BLOCK / SECTOR;
    private static final int MIN_RUN_SECTORS = CopyFlag.SPARSE_MIN_RUN / SECTOR;

    private int[] start = new int[8];
    private int[] length = new int[8];
    private boolean[] zero = new boolean[8];
    private int count;

    // The segments being built by findZeros, swapped in when done.
    private int[] nextStart = new int[8];
    private int[] nextLength = new int[8];
    private boolean[] nextZero = new boolean[8];
    private int nextCount;

    int count() {
        return count;
    }

    int start(int i) {
        return start[i];
    }

    int length(int i) {
        return length[i];
    }

    boolean isZero(int i) {
        return zero[i];
    }

    /** @return true if some segment is zeros */
    boolean hasZeros() {
        for (int i = 0; i < count; i++) {
            if (zero[i]) {
                return true;
            }
        }
        return false;
    }

    /** @return the number of data segments (the reads to do) */
    int dataSegments() {
        int n = 0;
        for (int i = 0; i < count; i++) {
            if (!zero[i]) {
                n++;
            }
        }
        return n;
    }

    /** The chunk is one run of zeros (nothing read, or read failed under IGNORE_ERROR). */
    void allZeros(int sectors) {
        count = 0;
        append(0, sectors, true);
    }

    /**
     * Plans the chunk {@code [chunkSector, chunkSector + sectors)} of the source from its answer
     * to {@link BlockDevice#extents} (which may start before the chunk and reach past it: it is
     * clipped): holes and zeros are not read. Whatever the answer does not cover, from the first
     * gap on, is data.
     *
     * @param runs   contiguous runs covering {@code chunkSector} (from an {@link ExtentCache}), or null
     * @param always {@link CopyFlag#SPARSE_ALWAYS}: short zero runs between data stay zeros
     * @return the sector where a run of zeros that covers the chunk's last sector ends, if it
     *         ends past the chunk (the engine then hands out the rest of it unread), else -1
     */
    long plan(List<Extent> runs, long chunkSector, int sectors, boolean always) {
        count = 0;
        long pos = chunkSector;
        long end = chunkSector + sectors;
        long zerosBeyond = -1;
        if (runs != null) {
            for (Extent run : runs) {
                if (run == null || run.sector() > pos) {
                    break;
                }
                if (run.endSector() <= pos) {
                    continue;
                }
                long runEnd = Math.min(run.endSector(), end);
                append((int) (pos - chunkSector), (int) (runEnd - pos), run.type().readsAsZeros());
                pos = runEnd;
                if (pos == end) {
                    if (run.endSector() > end && run.type().readsAsZeros()) {
                        zerosBeyond = run.endSector();
                    }
                    break;
                }
            }
        }
        if (pos < end) {
            append((int) (pos - chunkSector), (int) (end - pos), false);
        }
        if (!always) {
            // Short holes between data are read with it: one read and one write instead of three.
            // Those at the chunk's edges stay holes (see absorbShortZeros).
            absorbShortZeros();
        }
        return zerosBeyond;
    }

    /**
     * Finds the zeros in the data segments just read into {@code chunk} (the chunk's bytes from
     * position 0): each data segment is cut where whole blocks of {@value CopyFlag#SPARSE_BLOCK}
     * bytes (counted from the chunk's start; the segment's ends may cut a block) are zeros.
     *
     * @param chunk  the chunk's buffer, position 0 at the chunk's first byte
     * @param zeros  at least as many zero bytes as the chunk
     * @param always {@link CopyFlag#SPARSE_ALWAYS}: short zero runs between data stay zeros
     */
    void findZeros(ByteBuffer chunk, ByteBuffer zeros, boolean always) {
        nextCount = 0;
        for (int i = 0; i < count; i++) {
            if (zero[i]) {
                appendNext(start[i], length[i], true);
                continue;
            }
            int pos = start[i];
            int end = start[i] + length[i];
            while (pos < end) {
                int blockEnd = Math.min(end, (pos / BLOCK_SECTORS + 1) * BLOCK_SECTORS);
                appendNext(pos, blockEnd - pos, isZero(chunk, zeros, pos, blockEnd - pos));
                pos = blockEnd;
            }
        }
        int[] s = start;
        int[] l = length;
        boolean[] z = zero;
        start = nextStart;
        length = nextLength;
        zero = nextZero;
        count = nextCount;
        nextStart = s;
        nextLength = l;
        nextZero = z;
        if (!always) {
            absorbShortZeros();
        }
    }

    /**
     * Compares a piece with zeros: the JDK's {@code mismatch} compares direct buffers a vector
     * of bytes at a time.
     */
    private static boolean isZero(ByteBuffer chunk, ByteBuffer zeros, int sector, int sectors) {
        int bytes = sectors * SECTOR;
        return chunk.slice(sector * SECTOR, bytes).mismatch(zeros.slice(0, bytes)) < 0;
    }

    /**
     * A chunk with data keeps no zero run shorter than {@value CopyFlag#SPARSE_MIN_RUN} bytes
     * between data: such a run becomes part of the data around it. A zero run at the chunk's
     * first or last sector is not between data in the chunk and stays zeros, however short: it
     * may be the cut end of a long hole or zero run that goes on in the neighbouring chunk, and
     * writing it as data would allocate pages a new destination does not need (issue 13: about
     * one data run in eight of the sparse benchmark's image ended that way, 352 pages in all).
     */
    private void absorbShortZeros() {
        if (count < 2) {
            return;
        }
        int kept = 0;
        for (int i = 0; i < count; i++) {
            boolean edge = i == 0 || i == count - 1;
            boolean z = zero[i] && (edge || length[i] >= MIN_RUN_SECTORS);
            if (kept > 0 && zero[kept - 1] == z) {
                length[kept - 1] += length[i];
            } else {
                start[kept] = start[i];
                length[kept] = length[i];
                zero[kept] = z;
                kept++;
            }
        }
        count = kept;
    }

    private void append(int segStart, int segLength, boolean segZero) {
        if (segLength <= 0) {
            return;
        }
        if (count > 0 && zero[count - 1] == segZero) {
            length[count - 1] += segLength;
            return;
        }
        if (count == start.length) {
            start = java.util.Arrays.copyOf(start, count * 2);
            length = java.util.Arrays.copyOf(length, count * 2);
            zero = java.util.Arrays.copyOf(zero, count * 2);
        }
        start[count] = segStart;
        length[count] = segLength;
        zero[count] = segZero;
        count++;
    }

    private void appendNext(int segStart, int segLength, boolean segZero) {
        if (nextCount > 0 && nextZero[nextCount - 1] == segZero) {
            nextLength[nextCount - 1] += segLength;
            return;
        }
        if (nextCount == nextStart.length) {
            nextStart = java.util.Arrays.copyOf(nextStart, nextCount * 2);
            nextLength = java.util.Arrays.copyOf(nextLength, nextCount * 2);
            nextZero = java.util.Arrays.copyOf(nextZero, nextCount * 2);
        }
        nextStart[nextCount] = segStart;
        nextLength[nextCount] = segLength;
        nextZero[nextCount] = segZero;
        nextCount++;
    }
}
