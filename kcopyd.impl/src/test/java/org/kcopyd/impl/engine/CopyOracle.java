package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.impl.engine.RandomJobs.DeviceSpec;
import org.kcopyd.impl.engine.RandomJobs.JobSpec;
import org.kcopyd.impl.engine.RandomJobs.Placement;

/**
 * The invariants of one finished random job, checked against its fault schedule and against
 * what its devices saw. The job is cut into chunks of {@code chunk} sectors (the client's
 * sub-job size); a chunk fails to read if a read fault lies in it, and fails to write to a
 * destination if a write fault lies in that destination's part of it.
 *
 * <p>With IGNORE_ERROR (and no WRITE_SEQ, which turns it off) every chunk is read once and
 * written to every destination, unreadable ones as zeros, so the result follows from the
 * schedule alone. Without it the job stops at the first error it sees, and chunks already
 * handed out still finish: which chunks were done depends on timing, so it is taken from the
 * devices' request logs (or, for a plain memory device, from which chunks changed) and
 * checked for the shape the engine promises: a prefix of the chunks that includes the first
 * faulty one, every readable chunk of it written to every destination (under WRITE_SEQ, a
 * prefix written in order). The result's error bits must then equal exactly the faults those
 * requests met, and each destination's content must be what those requests wrote.
 */
final class CopyOracle {

    /** What the client reported for a job: its result, and what its callback saw. */
    record Outcome(CopyResult result, int calls, boolean callbackReadError, long callbackWriteErrors,
            String callbackThread, int[] flushesAtCallback) {
    }

    private final JobSpec spec;
    private final BlockDevice[] devices;
    private final byte[][] before;
    private final byte[][] after;
    private final long chunk;
    private final int chunks;
    private final boolean writeSeq;
    private final boolean ignore;
    private final boolean[] readFails;
    private final boolean[][] writeFails;
    /** Chunks read from the source, or null when the source keeps no log (a plain device). */
    private boolean[] read;
    private final boolean[][] written;
    private final List<List<FaultyDevice.Write>> writeOrder = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();

    private CopyOracle(JobSpec spec, BlockDevice[] devices, byte[][] before, long chunk) {
        this.spec = spec;
        this.devices = devices;
        this.before = before;
        this.chunk = chunk;
        this.chunks = (int) ((spec.count() + chunk - 1) / chunk);
        boolean seq = spec.flags().contains(CopyFlag.WRITE_SEQ);
        for (Placement d : spec.dests()) {
            seq |= spec.device(d).sequentialOnly();
        }
        this.writeSeq = seq;
        this.ignore = spec.flags().contains(CopyFlag.IGNORE_ERROR) && !seq;
        int n = spec.dests().size();
        this.readFails = new boolean[chunks];
        this.writeFails = new boolean[n][chunks];
        this.written = new boolean[n][chunks];
        for (int j = 0; j < chunks; j++) {
            if (!spec.isZero()) {
                readFails[j] = spec.device(spec.source()).failsRead(spec.source().sector() + start(j), length(j));
            }
            for (int i = 0; i < n; i++) {
                Placement d = spec.dests().get(i);
                writeFails[i][j] = spec.device(d).failsWrite(d.sector() + start(j), length(j));
            }
        }
        this.after = new byte[devices.length][];
        for (int d = 0; d < devices.length; d++) {
            after[d] = content(devices[d]);
        }
    }

    /**
     * @param before   each device's content before the job
     * @param chunk    the client's chunk size in sectors for this job
     * @param expectedThread the name of the client's completion thread
     * @return every broken invariant, empty if none
     */
    static List<String> check(JobSpec spec, BlockDevice[] devices, byte[][] before, long chunk, Outcome outcome,
            String expectedThread) {
        CopyOracle o = new CopyOracle(spec, devices, before, chunk);
        o.completion(outcome, expectedThread);
        if (outcome.result() == null) {
            return o.problems;
        }
        o.requestLogs();
        o.changedChunksOfPlainDevices();
        o.shape();
        o.writeSeqOrder();
        o.result(outcome.result());
        o.causes(outcome.result());
        o.destinationContent();
        o.nothingOutsideTheDestinations();
        o.flushes(outcome);
        return o.problems;
    }

    private long start(int j) {
        return j * chunk;
    }

    private long length(int j) {
        return Math.min(chunk, spec.count() - j * chunk);
    }

    private static byte[] content(BlockDevice device) {
        if (device instanceof FaultyDevice f) {
            return f.bytes(0, f.sizeInSectors());
        }
        ByteBuffer b = ByteBuffer.allocate((int) (device.sizeInSectors() * BlockDevice.SECTOR_SIZE));
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    private void problem(String s) {
        problems.add(s);
    }

    private void completion(Outcome o, String expectedThread) {
        if (o.calls() != 1) {
            problem("the callback ran " + o.calls() + " times, not once");
        }
        if (o.result() == null) {
            problem("the job never completed");
            return;
        }
        if (o.calls() >= 1) {
            if (!expectedThread.equals(o.callbackThread())) {
                problem("the callback ran on thread " + o.callbackThread() + ", not " + expectedThread);
            }
            if (o.callbackReadError() != o.result().readError()
                    || o.callbackWriteErrors() != o.result().writeErrors()) {
                problem("the callback saw readError=" + o.callbackReadError() + " writeErrors="
                        + Long.toBinaryString(o.callbackWriteErrors()) + " but the result is " + o.result());
            }
        }
    }

    /** Every logged request must be one chunk of a region of this job, and each chunk requested once. */
    private void requestLogs() {
        FaultyDevice source = spec.isZero() ? null
                : devices[spec.source().device()] instanceof FaultyDevice f ? f : null;
        if (source != null) {
            read = new boolean[chunks];
        }
        for (int i = 0; i < spec.dests().size(); i++) {
            writeOrder.add(new ArrayList<>());
        }
        for (int d = 0; d < devices.length; d++) {
            if (!(devices[d] instanceof FaultyDevice f)) {
                continue;
            }
            for (FaultyDevice.Write r : f.reads) {
                int j = source == f ? chunkAt(spec.source().sector(), r) : -1;
                if (j < 0) {
                    problem("read of " + range(r) + " on d" + d + " is not a chunk of the source region");
                } else if (read[j]) {
                    problem("chunk " + j + " was read twice");
                } else {
                    read[j] = true;
                }
            }
            for (FaultyDevice.Write w : f.writes) {
                int dest = destinationHolding(d, w);
                int j = dest < 0 ? -1 : chunkAt(spec.dests().get(dest).sector(), w);
                if (dest < 0) {
                    problem("write of " + range(w) + " on d" + d + " is outside every destination region");
                } else if (j < 0) {
                    problem("write of " + range(w) + " to dest[" + dest + "] is not one of its chunks");
                } else if (written[dest][j]) {
                    problem("chunk " + j + " was written twice to dest[" + dest + "]");
                } else {
                    written[dest][j] = true;
                    writeOrder.get(dest).add(w);
                }
            }
        }
    }

    private int destinationHolding(int device, FaultyDevice.Write w) {
        for (int i = 0; i < spec.dests().size(); i++) {
            Placement p = spec.dests().get(i);
            if (p.device() == device && w.sector() >= p.sector() && w.end() <= p.sector() + spec.count()) {
                return i;
            }
        }
        return -1;
    }

    private int chunkAt(long regionStart, FaultyDevice.Write w) {
        long offset = w.sector() - regionStart;
        if (offset < 0 || offset % chunk != 0 || offset >= spec.count()) {
            return -1;
        }
        int j = (int) (offset / chunk);
        return w.count() == length(j) ? j : -1;
    }

    private static String range(FaultyDevice.Write w) {
        return "[" + w.sector() + ", " + w.end() + ")";
    }

    /** A plain memory device keeps no log: a chunk of it was written if it changed. */
    private void changedChunksOfPlainDevices() {
        for (int i = 0; i < spec.dests().size(); i++) {
            Placement p = spec.dests().get(i);
            if (!(devices[p.device()] instanceof FaultyDevice)) {
                for (int j = 0; j < chunks; j++) {
                    written[i][j] = !same(after[p.device()], before[p.device()], p.sector() + start(j), length(j));
                }
            }
        }
    }

    private void shape() {
        boolean[] done = new boolean[chunks];
        for (int j = 0; j < chunks; j++) {
            done[j] = read != null && read[j];
            for (int i = 0; i < written.length; i++) {
                if (written[i][j] && read != null && !read[j]) {
                    problem("chunk " + j + " was written to dest[" + i + "] but never read");
                }
                done[j] |= written[i][j];
            }
        }
        if (ignore) {
            for (int j = 0; j < chunks; j++) {
                for (int i = 0; i < written.length; i++) {
                    if (!written[i][j]) {
                        problem("with IGNORE_ERROR, chunk " + j + " of " + chunks + " was never written to dest[" + i
                                + "]");
                    }
                }
            }
            return;
        }
        int m = 0;
        while (m < chunks && done[m]) {
            m++;
        }
        for (int j = m + 1; j < chunks; j++) {
            if (done[j]) {
                problem("chunk " + j + " was done although chunk " + m + " was not: not a prefix");
            }
        }
        int firstFaulty = firstFaultyChunk();
        if (firstFaulty < 0 && m < chunks) {
            problem("only " + m + " of " + chunks + " chunks were done, and no fault lies in the job's regions");
        }
        if (firstFaulty >= 0 && m <= firstFaulty) {
            problem("the job stopped after " + m + " chunks, before its first faulty chunk " + firstFaulty);
        }
        for (int j = 0; j < m; j++) {
            for (int i = 0; i < written.length; i++) {
                if (readFails[j] && written[i][j]) {
                    problem("chunk " + j + " failed to read but was written to dest[" + i + "] without IGNORE_ERROR");
                } else if (!readFails[j] && !writeSeq && !written[i][j]) {
                    problem("chunk " + j + " was read but never written to dest[" + i + "]");
                }
            }
        }
        if (writeSeq) {
            for (int i = 1; i < written.length; i++) {
                if (!Arrays.equals(written[i], written[0])) {
                    problem("under WRITE_SEQ, dest[" + i + "] got chunks " + chunkList(written[i]) + " but dest[0] "
                            + chunkList(written[0]));
                }
            }
            int w = 0;
            while (w < chunks && written[0][w]) {
                w++;
            }
            for (int j = w + 1; j < chunks; j++) {
                if (written[0][j]) {
                    problem("under WRITE_SEQ, chunk " + j + " was written although chunk " + w + " was not");
                }
            }
        }
    }

    private int firstFaultyChunk() {
        for (int j = 0; j < chunks; j++) {
            if (readFails[j]) {
                return j;
            }
            for (boolean[] fails : writeFails) {
                if (fails[j]) {
                    return j;
                }
            }
        }
        return -1;
    }

    private static String chunkList(boolean[] set) {
        List<Integer> list = new ArrayList<>();
        for (int j = 0; j < set.length; j++) {
            if (set[j]) {
                list.add(j);
            }
        }
        return list.toString();
    }

    /** Under WRITE_SEQ a chunk's writes start only after every write of the chunk before it completed. */
    private void writeSeqOrder() {
        if (!writeSeq) {
            return;
        }
        long[] firstIssued = new long[chunks];
        long[] lastCompleted = new long[chunks];
        Arrays.fill(firstIssued, Long.MAX_VALUE);
        for (int i = 0; i < writeOrder.size(); i++) {
            Placement p = spec.dests().get(i);
            long previous = -1;
            for (FaultyDevice.Write w : writeOrder.get(i)) {
                if (w.sector() <= previous) {
                    problem("under WRITE_SEQ, dest[" + i + "] got " + range(w) + " after a write at sector " + previous);
                }
                previous = w.sector();
                int j = (int) ((w.sector() - p.sector()) / chunk);
                firstIssued[j] = Math.min(firstIssued[j], w.issued());
                lastCompleted[j] = Math.max(lastCompleted[j], w.completed().get());
            }
        }
        for (int j = 1; j < chunks; j++) {
            if (firstIssued[j] != Long.MAX_VALUE && firstIssued[j] < lastCompleted[j - 1]) {
                problem("under WRITE_SEQ, a write of chunk " + j + " started before the writes of chunk " + (j - 1)
                        + " had completed");
            }
        }
    }

    private boolean failedWrite(int i) {
        for (int j = 0; j < chunks; j++) {
            if (written[i][j] && writeFails[i][j]) {
                return true;
            }
        }
        return false;
    }

    private boolean flushFails(int i) {
        DeviceSpec d = spec.device(spec.dests().get(i));
        return spec.flags().contains(CopyFlag.FLUSH) && d.failFlush();
    }

    private void result(CopyResult r) {
        boolean readError = false;
        for (int j = 0; j < chunks; j++) {
            readError |= readFails[j] && read != null && read[j];
        }
        long writeErrors = 0;
        for (int i = 0; i < written.length; i++) {
            if (failedWrite(i) || flushFails(i)) {
                writeErrors |= 1L << i;
            }
        }
        if (r.readError() != readError || r.writeErrors() != writeErrors) {
            problem("reported readError=" + r.readError() + " writeErrors=" + Long.toBinaryString(r.writeErrors())
                    + ", but the requests met readError=" + readError + " writeErrors="
                    + Long.toBinaryString(writeErrors));
        }
        boolean anyFault = firstFaultyChunk() >= 0;
        boolean anyFlushFault = false;
        for (int i = 0; i < written.length; i++) {
            anyFlushFault |= flushFails(i);
        }
        if (ignore) {
            long scheduled = 0;
            boolean scheduledRead = false;
            for (int j = 0; j < chunks; j++) {
                scheduledRead |= readFails[j];
            }
            for (int i = 0; i < written.length; i++) {
                boolean fails = flushFails(i);
                for (boolean f : writeFails[i]) {
                    fails |= f;
                }
                scheduled |= fails ? 1L << i : 0;
            }
            if (r.readError() != scheduledRead || r.writeErrors() != scheduled) {
                problem("with IGNORE_ERROR the schedule's faults are readError=" + scheduledRead + " writeErrors="
                        + Long.toBinaryString(scheduled) + ", reported " + r);
            }
        } else if (r.isSuccess() == (anyFault || anyFlushFault)) {
            problem("the job " + (r.isSuccess() ? "succeeded although" : "failed although no")
                    + " fault lies in its regions: " + r);
        }
    }

    /** Every reported failure is one of the injected ones, not an error of the engine. */
    private void causes(CopyResult r) {
        checkCause("read failure", r.readError(), r.readFailure(), "injected read error");
        for (int i = 0; i < written.length; i++) {
            checkCause("dest[" + i + "] failure", r.destinationFailed(i), r.writeFailure(i),
                    failedWrite(i) ? "injected write error" : "injected flush error");
        }
    }

    private void checkCause(String what, boolean reported, Optional<Throwable> cause, String expected) {
        if (reported && (cause.isEmpty() || cause.get().getMessage() == null
                || !cause.get().getMessage().startsWith(expected))) {
            problem(what + " is " + cause.map(Throwable::toString).orElse("missing") + ", not an " + expected);
        }
        if (!reported && cause.isPresent()) {
            problem(what + " " + cause.get() + " is given although no error is reported");
        }
    }

    /** A chunk written without error holds the source (zeros for a zero job or an unreadable chunk). */
    private void destinationContent() {
        for (int i = 0; i < written.length; i++) {
            Placement p = spec.dests().get(i);
            for (int j = 0; j < chunks; j++) {
                long at = p.sector() + start(j);
                String expected;
                boolean ok;
                if (written[i][j] && !writeFails[i][j]) {
                    boolean zeros = spec.isZero() || readFails[j];
                    expected = zeros ? "zeros" : "the source";
                    ok = zeros ? isZero(after[p.device()], at, length(j))
                            : sameAs(after[p.device()], at, before[spec.source().device()],
                                    spec.source().sector() + start(j), length(j));
                } else {
                    expected = "its old content (not written)";
                    ok = same(after[p.device()], before[p.device()], at, length(j));
                }
                if (!ok) {
                    problem("dest[" + i + "] chunk " + j + " (d" + p.device() + " sectors [" + at + ", "
                            + (at + length(j)) + ")) does not hold " + expected);
                }
            }
        }
    }

    private void nothingOutsideTheDestinations() {
        for (int d = 0; d < devices.length; d++) {
            long size = devices[d].sizeInSectors();
            boolean[] inDest = new boolean[(int) size];
            for (Placement p : spec.dests()) {
                if (p.device() == d) {
                    Arrays.fill(inDest, (int) p.sector(), (int) (p.sector() + spec.count()), true);
                }
            }
            for (int s = 0; s < size; s++) {
                if (!inDest[s] && !same(after[d], before[d], s, 1)) {
                    problem("sector " + s + " of d" + d + ", outside every destination region, was changed");
                    break;
                }
            }
        }
    }

    private void flushes(Outcome o) {
        for (int d = 0; d < devices.length; d++) {
            if (!(devices[d] instanceof FaultyDevice f)) {
                continue;
            }
            int expected = 0;
            if (spec.flags().contains(CopyFlag.FLUSH)) {
                for (int i = 0; i < written.length; i++) {
                    if (spec.dests().get(i).device() == d && !failedWrite(i)) {
                        expected++;
                    }
                }
            }
            if (f.flushes.get() != expected || o.flushesAtCallback()[d] != expected) {
                problem("d" + d + " was flushed " + f.flushes.get() + " times (" + o.flushesAtCallback()[d]
                        + " when the callback ran), expected " + expected);
            }
        }
    }

    private static boolean same(byte[] a, byte[] b, long sector, long count) {
        return sameAs(a, sector, b, sector, count);
    }

    private static boolean sameAs(byte[] a, long aSector, byte[] b, long bSector, long count) {
        int n = (int) (count * BlockDevice.SECTOR_SIZE);
        int ai = (int) (aSector * BlockDevice.SECTOR_SIZE);
        int bi = (int) (bSector * BlockDevice.SECTOR_SIZE);
        return Arrays.equals(a, ai, ai + n, b, bi, bi + n);
    }

    private static boolean isZero(byte[] a, long sector, long count) {
        int from = (int) (sector * BlockDevice.SECTOR_SIZE);
        int to = from + (int) (count * BlockDevice.SECTOR_SIZE);
        for (int k = from; k < to; k++) {
            if (a[k] != 0) {
                return false;
            }
        }
        return true;
    }
}
