package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.cli.internal.verify.RegionVerifier;
import org.kcopyd.cli.internal.verify.Verdict;
import org.kcopyd.device.FileBlockDevice;
import org.kcopyd.device.FileErrors;

/**
 * {@code copy --verify}: after the copy has completed (and been flushed, with {@code --flush}),
 * reads every completed destination region back and compares it with the source, through
 * {@link RegionVerifier} within the client's pages of buffers. A file destination is read back
 * through a second, read-only opening with O_DIRECT, so that the page cache cannot answer for the
 * device; where the file system refuses O_DIRECT (tmpfs before Linux 6.6, some FUSE and network
 * file systems) it is read through the page cache, and the check says so. A device named by URI is
 * read back through the same device the copy wrote. A regular file's tail of less than a sector is
 * compared through its channel. A destination the copy did not complete is skipped, with why.
 *
 * <p>Runs on the command's thread; the verifier's workers are its own.
 */
final class Verification {

    /** A destination's verification, as reported. */
    enum State {
        OK, MISMATCH, ERROR, SKIPPED,
        /** The source could not be read back: the destination is neither known to differ nor to be equal. */
        UNVERIFIED;

        String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param state                the result
     * @param firstDifferentSector for a mismatch, the first differing sector, absolute on the
     *                             destination; -1 otherwise
     * @param reason               why it is in error or skipped, else null
     * @param readBack             how it was read back, in words
     */
    record Check(State state, long firstDifferentSector, String reason, String readBack) {

        /** @return the destination differs, or could not be read back */
        boolean failed() {
            return state == State.MISMATCH || state == State.ERROR;
        }

        /** @return the JSON object: state, then firstDifferentSector, reason and readBack where they apply */
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("state", state.word());
            if (state == State.MISMATCH) {
                m.put("firstDifferentSector", firstDifferentSector);
            }
            if (reason != null) {
                m.put("reason", reason);
            }
            if (readBack != null) {
                m.put("readBack", readBack);
            }
            return m;
        }
    }

    /** The most worker threads of one read-back. */
    static final int MAX_THREADS = 4;

    private final OpenFiles files;
    private final boolean direct;

    /**
     * @param files  the command's open files and devices
     * @param direct whether the copy opened its files with O_DIRECT already ({@code --direct})
     */
    Verification(OpenFiles files, boolean direct) {
        this.files = files;
        this.direct = direct;
    }

    /**
     * @param src         the source
     * @param srcDevice   the source's device (not a hashing view of it)
     * @param srcSector   the source region's first sector
     * @param sectors     the whole sectors copied
     * @param targets     the destinations
     * @param outcome     what the copy did to each
     * @param budgetBytes the most bytes of buffers (the client's pages)
     * @return one check per target, in order
     */
    List<Check> run(Operand src, BlockDevice srcDevice, long srcSector, long sectors, List<Target> targets,
            Outcome outcome, long budgetBytes) {
        List<Check> checks = new ArrayList<>();
        List<RegionVerifier.Destination> regions = new ArrayList<>();
        List<Integer> compared = new ArrayList<>();
        List<String> readBacks = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            if (outcome.state(i) != Outcome.State.COMPLETE) {
                checks.add(new Check(State.SKIPPED, -1, "not verified: the copy left it " + outcome.state(i).word(),
                        null));
                continue;
            }
            ReadBack r = readBack(t);
            if (r.failure() != null) {
                checks.add(new Check(State.ERROR, -1, "could not be read back: " + r.failure(), null));
                continue;
            }
            checks.add(null);
            compared.add(i);
            readBacks.add(r.words());
            if (sectors > 0) {
                regions.add(new RegionVerifier.Destination(r.device(), t.spec().sector(), r.alignment()));
            }
        }
        List<Verdict> verdicts = new ArrayList<>();
        if (sectors > 0 && !regions.isEmpty()) {
            int threads = Math.max(1, Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()));
            verdicts = new RegionVerifier(budgetBytes, threads).verify(srcDevice, srcSector, sectors, regions);
        }
        ByteBuffer srcTail = null;
        IOException tailFailure = null;
        int tail = targets.get(0).tail();
        if (tail > 0 && !compared.isEmpty()) {
            try {
                srcTail = files.readTail(src, (srcSector + sectors) * BlockDevice.SECTOR_SIZE, tail);
            } catch (IOException e) {
                tailFailure = e;
            }
        }
        for (int k = 0; k < compared.size(); k++) {
            int i = compared.get(k);
            Target t = targets.get(i);
            Verdict v = sectors > 0 ? verdicts.get(k) : Verdict.ok();
            Check c = switch (v.state()) {
                case MISMATCH -> new Check(State.MISMATCH, v.firstDifferentSector(), null, readBacks.get(k));
                case ERROR -> new Check(State.ERROR, -1, "could not be read back: " + FileErrors.reason(v.failure()),
                        readBacks.get(k));
                case SOURCE_ERROR -> new Check(State.UNVERIFIED, -1, "not verified: the source could not be read back: "
                        + FileErrors.reason(v.failure()), readBacks.get(k));
                case OK -> tail > 0 ? compareTail(t, srcTail, tailFailure, readBacks.get(k))
                        : new Check(State.OK, -1, null, readBacks.get(k));
            };
            checks.set(i, c);
        }
        return checks;
    }

    /**
     * How one destination is read back: its device, the alignment of O_DIRECT requests, in words;
     * or, where its name no longer names the file written, why (and nothing else).
     */
    private record ReadBack(BlockDevice device, int alignment, String words, String failure) {

        ReadBack(BlockDevice device, int alignment, String words) {
            this(device, alignment, words, null);
        }

        static ReadBack failed(String why) {
            return new ReadBack(null, 0, null, why);
        }
    }

    private ReadBack readBack(Target t) {
        Operand o = t.operand();
        BlockDevice written = files.openWrite(o);
        if (o.isRemote()) {
            return new ReadBack(written, BlockDevice.SECTOR_SIZE, "through the device named by URI");
        }
        // Read back as its name: a file removed or renamed over since it was written is not verified
        // through the device that wrote it (that file has no name now, or another one).
        String gone = files.notTheFileWritten(o);
        if (gone != null) {
            return ReadBack.failed(gone);
        }
        BlockDevice device = written;
        if (!direct) {
            try {
                device = files.openReadBack(o);
            } catch (IOException e) {
                gone = files.notTheFileWritten(o);
                if (gone != null) {
                    return ReadBack.failed(gone);
                }
                return new ReadBack(written, BlockDevice.SECTOR_SIZE,
                        "page cache: O_DIRECT refused (" + FileErrors.reason(e) + ")");
            }
        }
        if (device instanceof FileBlockDevice f && !f.isDirect()) {
            return new ReadBack(device, BlockDevice.SECTOR_SIZE, "page cache: O_DIRECT not available");
        }
        int alignment = alignment(o);
        if (t.startByte() % alignment != 0) {
            return new ReadBack(device, BlockDevice.SECTOR_SIZE, "page cache: the region starts at byte "
                    + t.startByte() + ", not a multiple of the " + alignment + "-byte blocks O_DIRECT needs");
        }
        return new ReadBack(device, alignment, "O_DIRECT");
    }

    /** @return the file system's block size, which O_DIRECT requests must be multiples of (as the device) */
    private static int alignment(Operand o) {
        try {
            return (int) Math.max(BlockDevice.SECTOR_SIZE, Files.getFileStore(o.path()).getBlockSize());
        } catch (IOException | UnsupportedOperationException e) {
            return RegionVerifier.PAGE;
        }
    }

    private Check compareTail(Target t, ByteBuffer srcTail, IOException srcFailure, String readBack) {
        if (srcFailure != null) {
            return new Check(State.UNVERIFIED, -1, "not verified: the source's last " + t.tail() + " bytes could not be "
                    + "read back: " + FileErrors.reason(srcFailure), readBack);
        }
        try {
            ByteBuffer dstTail = files.readTail(t.operand(), t.tailByte(), t.tail());
            if (srcTail.duplicate().mismatch(dstTail) >= 0) {
                return new Check(State.MISMATCH, t.tailByte() / BlockDevice.SECTOR_SIZE, null, readBack);
            }
            return new Check(State.OK, -1, null, readBack);
        } catch (IOException e) {
            return new Check(State.ERROR, -1, "its last " + t.tail() + " bytes could not be read back: "
                    + FileErrors.reason(e), readBack);
        }
    }

    /**
     * @return the exit code of a copy that reported no error, given its checks: {@link Exit#VERIFY_FAILED}
     *         if a destination differs or could not be read back, else {@link Exit#READ_ERROR} if the
     *         source could not be read back (nothing is known against a destination), else {@link Exit#OK}
     */
    static int exitCode(List<Check> checks) {
        if (checks.stream().anyMatch(Check::failed)) {
            return Exit.VERIFY_FAILED;
        }
        return checks.stream().anyMatch(c -> c.state() == State.UNVERIFIED) ? Exit.READ_ERROR : Exit.OK;
    }
}
