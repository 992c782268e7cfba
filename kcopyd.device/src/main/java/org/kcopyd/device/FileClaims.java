package org.kcopyd.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Exclusive claims on the files kcopyd writes, by real file identity, the way the kernel's
 * exclusive open refuses a mounted disk. Every file kcopyd will write is claimed for its role —
 * the origin of a snapshot, a COW store, a region log, a mirror leg, a copy destination — and a
 * second claim on the same file is refused with a message naming the holder, whatever the
 * spelling of the path (relative, {@code ..}, symbolic or hard links).
 *
 * <p>Identity is the file's device and inode; for a block device node it is the device number it
 * stands for, so two nodes of one disk are the same file. Claims are held until
 * {@link FileClaim#close()}, and hold across processes: this JVM's claims are kept in a registry
 * (the library bundle is shared by every kcopyd bundle of a framework) and, for every other kcopyd
 * process of the same user, in a claims directory ({@code /run/kcopyd/claims} for root, else
 * {@code $XDG_RUNTIME_DIR/kcopyd/claims}, {@code /run/user/UID/kcopyd/claims} or
 * {@code /tmp/kcopyd-claims-UID}; the system property {@code kcopyd.claims.dir} names another).
 * There a claim is a POSIX record lock that the kernel drops when its process ends, however it
 * ends, and a record of who holds it, so that a claim of another process is refused as
 * {@code "origin.img is the origin of snapshot s1; write through its origin device (kcopyd
 * process 12345)"}. The claimed files themselves are never locked or opened by the registry.
 * Processes of different users (root and another) have different directories and do not see
 * each other's claims.
 *
 * <p><b>Readers.</b> A file kcopyd reads is registered too ({@link #reader}), as qemu's image locking
 * does it: while one process reads a file, another cannot claim it (a copy reading it would copy a
 * mix of old and new data), and a file another process has claimed is not read. Readers never
 * exclude each other, and within one process neither readers nor claims exclude each other's
 * reading (a process's jobs are checked against each other where they are made). In the claims
 * directory a reader is a shared lock on its file's byte and a record {@code IDENTITY.PID.reader};
 * where OFD locks are missing (see {@link ClaimLockFile}), readers are not registered.
 *
 * <p>A claims directory that cannot be used — not creatable, not a directory of the user's own,
 * writable by group or others — fails every claim and every read with the reason, rather than let
 * a file go unprotected. Thread-safe.
 */
public final class FileClaims {

    private static final System.Logger LOG = System.getLogger(FileClaims.class.getName());

    private static final Map<Object, FileClaim> CLAIMS = new HashMap<>();
    /** This JVM's readers ({@link #reader}) by file identity: how many; guarded by {@link #CLAIMS}. */
    private static final Map<Object, Integer> READERS = new HashMap<>();

    /** Ends every refusal of a reserved file: why, in words. */
    private static final String NEVER_OWN = "; kcopyd never opens its own files as devices";

    /** A file or directory kcopyd keeps its own state in ({@link #reserve}). */
    private record Reservation(Path path, Object identity, Path directory, String what) {
    }

    private static final java.util.List<Reservation> RESERVED = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** This JVM's side of the claims directory, opened at the first claim; guarded by {@link #CLAIMS}. */
    private static ClaimLockFile lockFile;

    private FileClaims() {
    }

    /**
     * Claims an existing file for a purpose.
     *
     * @param path    the file (symbolic links are followed)
     * @param purpose what the file is to its holder, completing "PATH is ...", e.g.
     *                {@code "the region log of mirror m1"}
     * @return the claim, to be closed when the file is no longer used for that purpose
     * @throws FileClaimedException if the file is claimed already, in this process or another; its
     *                              message names the holder
     * @throws IOException          if the file cannot be examined (it does not exist, say), or the
     *                              claims directory cannot be used
     */
    public static FileClaim claim(Path path, String purpose) throws IOException {
        return claim(path, () -> purpose);
    }

    /**
     * Claims an existing file for a purpose that may change while it is held (the origin of
     * several snapshots, say): {@code purpose} is asked whenever a conflicting claim in this JVM is
     * refused, and, to update what other processes are told, whenever a claim is taken or released
     * in this JVM and on {@link #purposesChanged()}.
     *
     * @param path    the file (symbolic links are followed)
     * @param purpose what the file is to its holder, completing "PATH is ..."; called under the
     *                registry's lock, so it must be quick and take no locks of its own callers
     * @return the claim
     * @throws FileClaimedException if the file is claimed already; its message names the holder
     * @throws IOException          if the file cannot be examined, or the claims directory cannot be used
     */
    public static FileClaim claim(Path path, Supplier<String> purpose) throws IOException {
        FileIdentity identity = FileIdentity.of(path);
        synchronized (CLAIMS) {
            FileClaim holder = CLAIMS.get(identity);
            if (holder != null) {
                throw new FileClaimedException(path, holder);
            }
            ClaimLockFile.Held lock = lockFile().acquire(identity, path, purpose.get());
            // Checked once this claim is held: of two processes claiming a file and a device over
            // it at once, each then sees the other's (and both are refused, which is safe).
            try {
                refuseSharedBytes(path, true);
            } catch (IOException | RuntimeException e) {
                ClaimLockFile.Lock.releaseAfter(lock, e);
                throw e;
            }
            FileClaim claim = FileClaim.held(identity, path, purpose, lock);
            CLAIMS.put(identity, claim);
            republish();
            return claim;
        }
    }

    /**
     * Refuses a claim on a file or device whose bytes a claimed one shares through a block device,
     * as sysfs tells ({@link DeviceBacking}): a loop device over a claimed file or the file under a
     * claimed loop device, a partition of a claimed disk or the disk of a claimed partition. Their
     * identities differ (a device number, an inode), so the claim itself does not meet them. Two
     * partitions of one disk are not each other's business. A claim ({@code claim}) is refused by
     * claims of this process and by claims and readers of others; a reader by claims of other
     * processes (as on the file itself). Called under the registry's lock.
     */
    private static void refuseSharedBytes(Path path, boolean claim) throws IOException {
        for (Related r : related(path)) {
            FileClaim holder = CLAIMS.get(r.identity());
            if (holder != null && !claim) {
                // This process's own claim: reading and claiming do not exclude each other within a process.
                continue;
            }
            Optional<FileClaim> found = holder != null ? Optional.of(holder)
                    : claim ? lockFile().conflict(r.identity(), path) : lockFile().holder(r.identity(), path);
            if (found.isPresent()) {
                FileClaim h = found.get();
                throw new FileClaimedException(r.words() + " shares bytes with " + h.path() + ", which is "
                        + h.purpose() + h.holderSuffix(), h);
            }
        }
    }

    /**
     * @return the files and devices whose bytes {@code path} shares through a block device, as sysfs tells
     *         ({@link DeviceBacking}): the file under a loop device, the disk of a partition, the devices over it
     */
    private static List<Related> related(Path path) throws IOException {
        List<Related> related = new ArrayList<>();
        DeviceBacking.Window window;
        try {
            window = DeviceBacking.of(path);
        } catch (IOException e) {
            window = null;
        }
        if (window != null && !window.via().isEmpty() && window.identity() instanceof FileIdentity under) {
            related.add(new Related(under, window.describe(path.toString())));
        }
        for (DeviceBacking.Stacked over : DeviceBacking.above(path)) {
            related.add(new Related((FileIdentity) over.identity(), path + " (under " + over.device() + ", "
                    + over.via() + ")"));
        }
        return related;
    }

    /**
     * As {@link #holderOf}, for the file and every file or device that shares its bytes through a
     * block device ({@link DeviceBacking}: the file under a loop device, a loop device over the file,
     * a partition and its disk): what a daemon checks its own readers and writers against (H51-3: a
     * job read a loop device while an export of this daemon wrote the file under it).
     *
     * @param path a file or block device (symbolic links are followed)
     * @return a claim held on it or on a device sharing its bytes, here or by another process
     * @throws IOException if the file cannot be examined, or the claims directory cannot be used
     * @since 1.13
     */
    public static Optional<FileClaim> holderOfSharedBytes(Path path) throws IOException {
        Optional<FileClaim> own = holderOf(path);
        if (own.isPresent()) {
            return own;
        }
        for (Related r : related(path)) {
            synchronized (CLAIMS) {
                FileClaim holder = CLAIMS.get(r.identity());
                Optional<FileClaim> found = holder != null ? Optional.of(holder) : lockFile().holder(r.identity(), path);
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    /**
     * As {@link #isReadHere}, for the file and every file or device that shares its bytes through a
     * block device ({@link #holderOfSharedBytes}).
     *
     * @param path a file or block device (symbolic links are followed)
     * @return true if this JVM reads it, or a device sharing its bytes, now
     * @throws IOException if the file cannot be examined
     * @since 1.13
     */
    public static boolean isReadHereSharedBytes(Path path) throws IOException {
        if (isReadHere(path)) {
            return true;
        }
        for (Related r : related(path)) {
            synchronized (CLAIMS) {
                if (READERS.containsKey(r.identity())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * @param path   what a message names
     * @param holder the claim found on it ({@link #holderOfSharedBytes})
     * @return "" if the claim names {@code path} itself, else " (the same file as P)" or " (sharing its bytes
     *         with P)", P the claimed file
     * @since 1.13
     */
    public static String relation(Path path, FileClaim holder) {
        if (holder.path().equals(path)) {
            return "";
        }
        boolean same;
        try {
            same = FileIdentity.of(path).equals(holder.identity());
        } catch (IOException e) {
            same = false;
        }
        return (same ? " (the same file as " : " (sharing its bytes with ") + holder.path() + ")";
    }

    /** A file or device whose bytes another shares through a block device, and how, in words. */
    private record Related(FileIdentity identity, String words) {
    }

    /**
     * Tells other processes what this JVM's claimed files are to it now, asking each claim's
     * purpose again: for a holder whose purpose changed without a claim being taken or released
     * here (a snapshot attached to an origin claimed already, say). Failures are logged.
     *
     * @since 1.1
     */
    public static void purposesChanged() {
        synchronized (CLAIMS) {
            republish();
        }
    }

    /**
     * @param path a file
     * @return the claim held on it, if any: in this JVM, or by another process (a description, see
     *         {@link FileClaim#isHeldHere()})
     * @throws IOException if the file cannot be examined, or the claims directory cannot be used
     */
    public static Optional<FileClaim> holderOf(Path path) throws IOException {
        FileIdentity identity = FileIdentity.of(path);
        synchronized (CLAIMS) {
            FileClaim holder = CLAIMS.get(identity);
            return holder != null ? Optional.of(holder) : lockFile().holder(identity, path);
        }
    }

    /**
     * Whether this JVM reads a file now ({@link #reader}: a device opened read-only through the
     * {@link FileDeviceOpener} and not closed yet), for what checks its own users against each other
     * (the daemon: a job may not write a file one of its read-only exports serves).
     *
     * @param path a file (symbolic links are followed)
     * @return true if at least one reader of this JVM has it open
     * @throws IOException if the file cannot be examined
     * @since 1.7
     */
    public static boolean isReadHere(Path path) throws IOException {
        FileIdentity identity = FileIdentity.of(path);
        synchronized (CLAIMS) {
            return READERS.containsKey(identity);
        }
    }

    /**
     * The identity kcopyd compares files by: the device number a block device node stands for,
     * else the file's device and inode.
     *
     * @param path a file or device node (symbolic links are followed)
     * @return an object equal to that of any other path to the same file
     * @throws IOException if the file cannot be examined
     */
    public static Object identityOf(Path path) throws IOException {
        return FileIdentity.of(path);
    }

    /**
     * Reserves a file or directory that kcopyd keeps its own state in (a daemon's state directory,
     * its lock): the {@link FileDeviceOpener} of every kcopyd process of the user refuses to open
     * it, or a file in it, or to create one there, for reading as for writing ({@link #reservedAs}).
     * Its files are not data: a one-shot {@code copy} would otherwise blank a daemon's lock record,
     * copy its token out, or drop a file into its configuration directory that fails its next start;
     * and a process that closes any descriptor of a file drops every POSIX lock it holds on it, so a
     * lock file opened as a device and closed again would silently free what it guards. Other
     * processes learn of it through the claims directory, where it is held as a claim is, with a
     * record saying it is a reservation.
     *
     * @param path an existing file, or a directory (everything in it is reserved: in this process by
     *             real path, so symbolic links into it are caught; in others by the identities of
     *             the directories above what they open, so bind mounts of it are caught too; hard
     *             links to its files from outside are not)
     * @param what what it is, completing "PATH is ...", e.g. {@code "in the state directory of the kcopyd
     *             daemon"}
     * @return closing it ends the reservation
     * @throws FileClaimedException if another process claimed or reserved it
     * @throws IOException if {@code path} cannot be examined, or the claims directory cannot be used
     */
    public static AutoCloseable reserve(Path path, String what) throws IOException {
        ClaimLockFile.Held held;
        synchronized (CLAIMS) {
            held = lockFile().acquire(FileIdentity.of(path), path, what, true);
        }
        AutoCloseable here;
        try {
            here = reserveHere(path, what);
        } catch (IOException | RuntimeException e) {
            synchronized (CLAIMS) {
                held.release();
            }
            throw e;
        }
        return () -> {
            here.close();
            synchronized (CLAIMS) {
                held.release();
            }
        };
    }

    /** Reserves {@code path} in this process only ({@link #reserve}). */
    private static AutoCloseable reserveHere(Path path, String what) throws IOException {
        Reservation r = Files.isDirectory(path) ? new Reservation(path, null, path.toRealPath(), what)
                : new Reservation(path, FileIdentity.of(path), null, what);
        RESERVED.add(r);
        return () -> RESERVED.remove(r);
    }

    /**
     * @param path a file or device about to be opened or created
     * @return null if kcopyd did not {@linkplain #reserve reserve} it, else why it is refused, in words:
     *         {@code "/var/lib/kcopyd/lock is in the state directory of the kcopyd daemon; kcopyd never
     *         opens its own files as devices"}
     */
    public static String reservedAs(Path path) {
        if (RESERVED.isEmpty()) {
            return null;
        }
        Object identity;
        try {
            identity = FileIdentity.of(path);
        } catch (IOException e) {
            identity = null;
        }
        Path real = realPath(path);
        for (Reservation r : RESERVED) {
            if (r.identity() != null && r.identity().equals(identity)
                    || r.directory() != null && real != null && real.startsWith(r.directory())) {
                String same = r.identity() != null && !r.path().equals(path) ? " (the same file as " + r.path() + ")"
                        : "";
                return path + same + " is " + r.what() + NEVER_OWN;
            }
        }
        return null;
    }

    /** @return {@code path}'s real path, or for a path that does not exist its parent's and its name; null if neither */
    private static Path realPath(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            Path absolute = path.toAbsolutePath().normalize();
            try {
                return absolute.getParent() == null ? null : absolute.getParent().toRealPath()
                        .resolve(absolute.getFileName());
            } catch (IOException parentMissing) {
                return null;
            }
        }
    }

    /**
     * Throws {@link FileClaimedException} if {@code path} is {@linkplain #reserve reserved}, by this
     * process or another: the file itself (by identity), or a directory it is in (by the identities
     * of the directories of its real path, up to the root). Where the claims directory cannot be
     * used, only this process's reservations are known (a write is then refused by its claim).
     * The {@link FileDeviceOpener} calls it before it opens or creates anything; checks that look
     * at a file before opening it (its size, say) call it first, so that their advice is never about
     * kcopyd's own files ("truncate -s 512 STATE/lock").
     *
     * @param path a file or device about to be opened or created
     * @throws FileClaimedException naming what the file is, and the process that reserved it
     * @since 1.6
     */
    public static void refuseReserved(Path path) throws FileClaimedException {
        String reserved = reservation(path);
        if (reserved == null) {
            // A loop device over a daemon's file (its log, say) is that file's bytes (found by H25).
            Path backing = DeviceBacking.backingFile(path);
            String under = backing == null ? null : reservation(backing);
            if (under != null) {
                reserved = path + " is a loop device over " + backing + ": " + under;
            }
        }
        if (reserved != null) {
            throw new FileClaimedException(reserved);
        }
    }

    /** @return why {@code path} is refused, in words, if this process or another reserved it; else null */
    private static String reservation(Path path) {
        String here = reservedAs(path);
        return here != null ? here : reservedElsewhere(path);
    }

    /** @return why {@code path} is refused, in words, if a reservation the claims directory records covers it; else null */
    private static String reservedElsewhere(Path path) {
        Path real = realPath(path);
        synchronized (CLAIMS) {
            try {
                ClaimLockFile claims = lockFile();
                if (Files.exists(path)) {
                    Optional<ClaimLockFile.Reserved> r = claims.reservation(FileIdentity.of(path));
                    if (r.isPresent()) {
                        String same = r.get().path().equals(path.toAbsolutePath()) ? ""
                                : " (the same file as " + r.get().path() + ")";
                        return path + same + " is " + r.get().what() + NEVER_OWN;
                    }
                }
                for (Path dir = real == null ? null : real.getParent(); dir != null; dir = dir.getParent()) {
                    Optional<ClaimLockFile.Reserved> r = claims.reservation(FileIdentity.of(dir));
                    if (r.isPresent()) {
                        String in = r.get().path().equals(dir) ? "" : " (" + dir + " is " + r.get().path() + ")";
                        return path + in + " is " + r.get().what() + NEVER_OWN;
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> "reservations of other processes not looked at for " + path
                        + ": " + e);
            }
        }
        return null;
    }

    /**
     * Whether a name still names the file kcopyd used: a file removed, or replaced by another
     * file, while kcopyd wrote it leaves what was written without that name (or under another),
     * so a job that reported it complete would tell the user a copy is where none is.
     *
     * @param path     the name the file was opened by
     * @param identity the file's identity ({@link #identityOf}, {@link FileBlockDevice#identity()}),
     *                 taken when it was opened
     * @param did      completes "while kcopyd ... it", e.g. {@code "wrote"}
     * @return null if {@code path} names that file now, else why not, in words: {@code "it was removed
     *         while kcopyd wrote it"}, {@code "it was replaced by another file while kcopyd wrote
     *         it"} or {@code "it cannot be examined: ..."}
     */
    public static String whyNotNamed(Path path, Object identity, String did) {
        try {
            return FileIdentity.of(path).equals(identity) ? null
                    : "it was replaced by another file while kcopyd " + did + " it";
        } catch (java.nio.file.NoSuchFileException e) {
            return "it was removed while kcopyd " + did + " it";
        } catch (IOException e) {
            return "it cannot be examined: " + FileErrors.reason(e);
        }
    }

    /**
     * Registers a reader of an existing file in this process, until the returned registration is
     * closed: while it is open, another kcopyd process cannot claim the file (its claim is refused
     * naming this process), and the read is refused if another process holds a claim on it now (a
     * copy reading it would copy a mix of old and new data). Readers do not exclude each other, nor
     * claims of this process (its own jobs are checked against each other where they are made).
     * Without OFD locks (see {@link ClaimLockFile}) nothing is registered and nothing refused.
     *
     * @param path the file (symbolic links are followed)
     * @return the registration, to be closed when the file is no longer read
     * @throws FileClaimedException if another process holds a claim on the file; its message names it
     * @throws IOException          if the file cannot be examined, or the claims directory cannot be used
     * @since 1.7
     */
    public static FileClaim reader(Path path) throws IOException {
        return reader(FileIdentity.of(path), path);
    }

    /** As {@link #reader(Path)}, of the file of {@code identity}, which {@code path} named. */
    static FileClaim reader(FileIdentity identity, Path path) throws IOException {
        synchronized (CLAIMS) {
            ClaimLockFile.Lock lock = lockFile().acquireReader(identity, path);
            try {
                refuseSharedBytes(path, false);
            } catch (IOException | RuntimeException e) {
                ClaimLockFile.Lock.releaseAfter(lock, e);
                throw e;
            }
            READERS.merge(identity, 1, Integer::sum);
            return FileClaim.reader(identity, path, lock);
        }
    }

    static void release(FileClaim claim) {
        if (claim.isReader()) {
            synchronized (CLAIMS) {
                if (!claim.markReleased()) {
                    return;
                }
                READERS.computeIfPresent(claim.identity(), (k, n) -> n > 1 ? n - 1 : null);
                if (claim.reading() != null) {
                    try {
                        claim.reading().release();
                    } catch (IOException | RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "releasing the reader of " + claim.path() + " failed", e);
                    }
                }
            }
            return;
        }
        synchronized (CLAIMS) {
            if (CLAIMS.remove(claim.identity(), claim)) {
                try {
                    claim.lock().release();
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "releasing the claim on " + claim.path() + " failed", e);
                }
                republish();
            }
        }
    }

    /** Locates and opens the claims directory the first time it is needed (again after a failure). */
    private static ClaimLockFile lockFile() throws IOException {
        if (lockFile == null) {
            lockFile = ClaimLockFile.open(ClaimDirectory.locate());
            reserveHere(lockFile.directory().resolve(ClaimLockFile.LOCK_FILE), "the lock file of kcopyd's claims");
        }
        return lockFile;
    }

    /**
     * Tells other processes what this JVM's files are to it now: a purpose may have changed since it
     * was written (an origin's snapshots come and go).
     */
    private static void republish() {
        for (FileClaim claim : CLAIMS.values()) {
            try {
                claim.lock().publish(claim.purpose());
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "updating the claim record of " + claim.path() + " failed", e);
            }
        }
    }
}
