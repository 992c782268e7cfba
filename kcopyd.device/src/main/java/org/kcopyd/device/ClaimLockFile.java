package org.kcopyd.device;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.Writer;
import java.lang.ref.Reference;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;

/**
 * The claims of every kcopyd process of one user, in one {@linkplain ClaimDirectory directory}.
 * A claim is an exclusive lock on one byte of {@value #LOCK_FILE}, at the offset its file's
 * {@linkplain FileIdentity#lockOffset() identity} gives, and a record {@code IDENTITY.holder}
 * saying who holds it (process id and start, path, purpose) for the refusal message of whoever
 * asks next.
 *
 * <p><b>Which locks.</b> Where the system has them (Linux 3.15, through JNA), open file description
 * locks ({@code F_OFD_SETLK}) on a descriptor this instance opens and never closes: they belong to
 * that descriptor, so nothing else the process does with the file can drop them. Elsewhere, POSIX
 * record locks through the JDK ({@link FileChannel#tryLock}), which belong to the process: closing
 * <em>any</em> descriptor of the file drops all of them (see {@link FileLock}), which a user could
 * make the process do by naming {@value #LOCK_FILE} as a device to read (found by a hostile test:
 * a refused request then left every claim of a daemon dropped); {@link FileClaims#reserved} makes the
 * device opener refuse it. The two kinds conflict with each other, so processes of either kind
 * exclude each other. The claimed files themselves are never locked (closing a reader of an
 * origin would drop a POSIX claim); {@value #LOCK_FILE} is opened by this class once per
 * instance and held open for the life of the process, even when the instance is no longer
 * used (see {@link #pin}). The locked bytes lie past its end (it
 * stays empty), which POSIX allows. Nothing that carries a lock is ever deleted, so there is no
 * race between unlinking a lock file and locking it. The kernel drops the locks of a process that
 * ends, however it ends ({@code kill -9} included); its records stay behind but are not believed
 * (their lock is free) and are removed by the next process that opens the directory.
 *
 * <p>Two instances in one process (two copies of the {@code kcopyd.device} bundle in one JVM)
 * see each other's claims: OFD locks of two descriptors conflict in the kernel, POSIX locks of one
 * JVM in its own lock table ({@link OverlappingFileLockException}).
 * Not thread-safe: {@link FileClaims} calls it under its lock.
 */
final class ClaimLockFile {

    /** The file every claim of the directory locks a byte of. */
    static final String LOCK_FILE = "claims.lock";

    private static final System.Logger LOG = System.getLogger(ClaimLockFile.class.getName());
    private static final String RECORD = ".holder";
    /** Ends the record of a process reading a file: {@code IDENTITY.PID.reader}. */
    private static final String READER = ".reader";
    /** What a reader is to its process, in a refusal: "PATH is ...". */
    static final String READING = "open for reading by kcopyd; writing it now would change what that process reads";
    private static final String TEMPORARY = ".tmp";
    /** The largest record read: kcopyd's are a few hundred bytes. */
    private static final int MOST_RECORD_BYTES = 16 * 1024;
    private static final long PID = ProcessHandle.current().pid();
    private static final String STARTED = started(ProcessHandle.current());

    private final Path dir;
    /** Never closed: closing it would drop every POSIX claim this process holds (see above). */
    private final FileChannel channel;
    /** The system calls of the OFD locks, or null: POSIX locks through {@link #channel}. */
    private final NativeFiles sys;
    /** The descriptor the OFD locks belong to, never closed; -1 without OFD locks. */
    private final int fd;
    /**
     * What this instance holds OFD locks for, by offset (the kernel lets a description lock twice,
     * so it is told here): a claim or reservation (exclusive), readers (shared, unless a claim is
     * held too).
     */
    private final java.util.Map<Long, Holds> held = new java.util.HashMap<>();

    /** One offset's holds: the lock is exclusive while {@code writer}, else shared while {@code readers > 0}. */
    private static final class Holds {
        boolean writer;
        int readers;
    }

    /**
     * A reservation as its record tells it.
     *
     * @param path the path it was reserved by
     * @param what what it is, completing "PATH is ...", and {@code " (kcopyd process PID)"} where its
     *             process is known
     */
    record Reserved(Path path, String what) {
    }

    /** A claim's lock or a reader's hold, released by its holder. */
    interface Lock {
        void release() throws IOException;

        /** Releases {@code lock} (if any) after {@code failure}, to which a failure to release is added. */
        static void releaseAfter(Lock lock, Exception failure) {
            if (lock == null) {
                return;
            }
            try {
                lock.release();
            } catch (IOException | RuntimeException releasing) {
                failure.addSuppressed(releasing);
            }
        }
    }

    private ClaimLockFile(Path dir, FileChannel channel, NativeFiles sys, int fd) {
        this.dir = dir;
        this.channel = channel;
        this.sys = sys;
        this.fd = fd;
    }

    /**
     * Opens the lock file of a claims directory and removes the records of claims nobody holds.
     *
     * @param dir a claims directory (checked by {@link ClaimDirectory})
     * @return the lock file
     * @throws IOException if it cannot be opened
     */
    static ClaimLockFile open(Path dir) throws IOException {
        FileChannel channel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        pin(channel);
        NativeFiles sys = FileHoles.system();
        int fd = ofdDescriptor(sys, dir.resolve(LOCK_FILE));
        ClaimLockFile file = new ClaimLockFile(dir, channel, fd < 0 ? null : sys, fd);
        file.sweep();
        return file;
    }

    /**
     * @return a read-write descriptor of {@code lockFile} for OFD locks, or -1 where the system has
     *         none (no JNA, not Linux, a kernel before 3.15): POSIX locks then
     */
    private static int ofdDescriptor(NativeFiles sys, Path lockFile) throws IOException {
        if (sys == null) {
            return -1;
        }
        int fd = sys.open(lockFile.toString(), true);
        try {
            if (!FileIdentity.of(FileHoles.descriptorPath(fd)).equals(FileIdentity.of(lockFile))) {
                throw new IOException(lockFile + " was replaced while it was being opened");
            }
            // Unlocking what is not locked is harmless, and tells whether the kernel has OFD locks.
            sys.unlockRange(fd, 0, 1);
            return fd;
        } catch (UnsupportedOperationException e) {
            sys.close(fd);
            return -1;
        } catch (IOException | RuntimeException e) {
            sys.close(fd);
            throw e;
        }
    }

    /** @return true if claims are OFD locks (see the class documentation), false if POSIX locks */
    boolean ofd() {
        return fd >= 0;
    }

    /**
     * Keeps a channel reachable until the JVM exits. A channel that is no longer reachable is
     * closed by its cleaner, and that drops every lock this process holds on the file, those of
     * other channels included: the channel of an old copy of this class (the bundle updated or
     * refreshed, its class loader collected) would silently free the claims of the new one.
     */
    private static void pin(FileChannel channel) {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> Reference.reachabilityFence(channel),
                    "kcopyd claims lock file"));
        } catch (IllegalStateException e) {
            // The JVM is exiting already: its locks go with it.
        }
    }

    Path directory() {
        return dir;
    }

    /**
     * Claims a file for this process.
     *
     * @param identity its identity
     * @param path     the path it is claimed by
     * @param purpose  what it is to this process, for the record
     * @return the claim's lock, to {@link Held#release() release}
     * @throws FileClaimedException if another process (or another instance in this one) holds it
     * @throws IOException          if the lock or its record cannot be made
     */
    Held acquire(FileIdentity identity, Path path, String purpose) throws IOException {
        return acquire(identity, path, purpose, false);
    }

    /**
     * Claims a file, or {@linkplain FileClaims#reserve reserves} a file or directory kcopyd keeps
     * its own state in: a reservation's record says so ({@code reserved=true}), and {@link
     * #reservation} finds it.
     *
     * @param reserved true for a reservation, false for a claim
     * @return the lock, to {@link Held#release() release}
     * @throws FileClaimedException if another process (or another instance in this one) holds it
     * @throws IOException          if the lock or its record cannot be made
     */
    Held acquire(FileIdentity identity, Path path, String purpose, boolean reserved) throws IOException {
        Lock lock = tryLock(identity);
        if (lock == null) {
            throw new FileClaimedException(path, conflictElsewhere(identity, path));
        }
        Held held = new Held(identity, path.toAbsolutePath(), lock, reserved);
        try {
            held.publish(purpose);
        } catch (IOException | RuntimeException e) {
            lock.release();
            throw new IOException("cannot record the claim on " + path + " in " + dir + ": " + e.getMessage(), e);
        }
        return held;
    }

    /**
     * @param identity a file's identity
     * @param path     the path asked about, named if the holder cannot be
     * @return the claim another process (or another instance in this one) holds on it, if any
     * @throws IOException if the lock file cannot be asked
     */
    Optional<FileClaim> holder(FileIdentity identity, Path path) throws IOException {
        return writerElsewhere(identity) ? Optional.of(holderElsewhere(identity, path)) : Optional.empty();
    }

    /**
     * @param identity a file's identity
     * @param path     the path asked about, named if the holder cannot be
     * @return a claim or a reader another process (or another instance in this one) holds on it, if
     *         any: what a claim on it would be refused for
     * @throws IOException if the lock file cannot be asked
     */
    Optional<FileClaim> conflict(FileIdentity identity, Path path) throws IOException {
        Lock lock = tryLock(identity);
        if (lock == null) {
            return Optional.of(conflictElsewhere(identity, path));
        }
        lock.release();
        return Optional.empty();
    }

    /**
     * Registers a reader of a file in this process: the first takes a shared lock on the file's
     * byte, which a claim of another process (an exclusive lock) refuses, and which refuses such a
     * claim until the last reader is gone; a record {@code IDENTITY.PID.reader} names the process
     * for that refusal. A reader where this process holds the claim itself takes nothing more.
     * Without OFD locks (POSIX locks through the JDK, which cannot turn a shared lock into an
     * exclusive one in place), readers are not registered: null.
     *
     * @param identity the file's identity
     * @param path     the path it is read by, for the record
     * @return the reader's hold, to {@link Lock#release() release}; null without OFD locks
     * @throws FileClaimedException if another process holds a claim on the file; naming it
     * @throws IOException          if the lock or its record cannot be made
     */
    Lock acquireReader(FileIdentity identity, Path path) throws IOException {
        if (fd < 0) {
            return null;
        }
        long offset = identity.lockOffset();
        Holds h = held.get(offset);
        if (h == null) {
            if (!sys.lockRangeShared(fd, offset, 1)) {
                throw new FileClaimedException(path, holderElsewhere(identity, path));
            }
            h = new Holds();
            held.put(offset, h);
        }
        if (h.readers == 0) {
            try {
                publishReader(identity, path);
            } catch (IOException | RuntimeException e) {
                if (!h.writer) {
                    held.remove(offset);
                    sys.unlockRange(fd, offset, 1);
                }
                throw new IOException("cannot record the reader of " + path + " in " + dir + ": " + e.getMessage(), e);
            }
        }
        h.readers++;
        Holds holds = h;
        return () -> {
            if (--holds.readers > 0) {
                return;
            }
            try {
                Files.deleteIfExists(readerRecord(identity));
            } finally {
                if (!holds.writer) {
                    held.remove(offset);
                    sys.unlockRange(fd, offset, 1);
                }
            }
        };
    }

    /** @return this process's record of reading the file */
    private Path readerRecord(FileIdentity identity) {
        return dir.resolve(identity.name() + "." + PID + READER);
    }

    private void publishReader(FileIdentity identity, Path path) throws IOException {
        writeRecord(readerRecord(identity), record(identity, path.toAbsolutePath()), "kcopyd reader: " + path);
    }

    /** @return what every record of this process says: the file, this process (id and start), the path */
    private static Properties record(FileIdentity identity, Path path) {
        Properties record = new Properties();
        record.setProperty("identity", identity.name());
        record.setProperty("pid", Long.toString(PID));
        record.setProperty("started", STARTED);
        record.setProperty("path", path.toString());
        return record;
    }

    /**
     * Writes a record through a temporary file renamed into place, so that a reader never sees half
     * of one.
     */
    private void writeRecord(Path target, Properties record, String comment) throws IOException {
        Path temporary = dir.resolve(target.getFileName() + "." + PID + TEMPORARY);
        try (Writer out = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
            record.store(out, comment);
        }
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * @return true if another process (or another instance in this one) holds a claim or
     *         reservation on the file, or this instance does; false if none does (readers elsewhere
     *         are not asked about)
     */
    private boolean writerElsewhere(FileIdentity identity) throws IOException {
        long offset = identity.lockOffset();
        if (fd >= 0) {
            Holds h = held.get(offset);
            if (h != null) {
                // A shared lock of this instance's readers keeps every exclusive one out.
                return h.writer;
            }
            if (!sys.lockRangeShared(fd, offset, 1)) {
                return true;
            }
            sys.unlockRange(fd, offset, 1);
            return false;
        }
        try {
            FileLock lock = channel.tryLock(offset, 1, true);
            if (lock == null) {
                return true;
            }
            lock.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        }
    }

    /** Why a claim on the file was refused: the claim of another process, else a reader there. */
    private FileClaim conflictElsewhere(FileIdentity identity, Path path) throws IOException {
        return writerElsewhere(identity) ? holderElsewhere(identity, path) : readerElsewhere(identity, path);
    }

    /** A process that reads the file, as its record describes it, if one of the records is a live process's. */
    private FileClaim readerElsewhere(FileIdentity identity, Path path) {
        try (DirectoryStream<Path> records = Files.newDirectoryStream(dir, identity.name() + ".*" + READER)) {
            for (Path recordFile : records) {
                Properties record = read(recordFile);
                OptionalLong pid = record == null || !identity.name().equals(record.getProperty("identity"))
                        ? OptionalLong.empty() : livePid(record);
                if (pid.isPresent() && pid.getAsLong() != PID) {
                    return FileClaim.elsewhere(identity, Path.of(record.getProperty("path", path.toString())),
                            READING, pid);
                }
            }
        } catch (IOException | RuntimeException e) {
            // The reader goes unnamed.
        }
        return FileClaim.elsewhere(identity, path, "open for reading by another kcopyd process", OptionalLong.empty());
    }

    /** @return the record's process id if that process runs and is the one that wrote it (not a reused id) */
    private static OptionalLong livePid(Properties record) {
        try {
            long pid = Long.parseLong(record.getProperty("pid", ""));
            Optional<ProcessHandle> process = ProcessHandle.of(pid);
            return process.isPresent() && Objects.equals(started(process.get()), record.getProperty("started"))
                    ? OptionalLong.of(pid) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * @param identity a file's or directory's identity
     * @return the reservation held on it, by any process (this one too); empty if
     *         there is none, or only a claim. Looks for a record first (one {@code stat} where there
     *         is none, the common case), then makes sure its lock is held, so that a record left by
     *         a killed process is not believed.
     * @throws IOException if the lock file cannot be asked
     */
    Optional<Reserved> reservation(FileIdentity identity) throws IOException {
        Path recordFile = dir.resolve(identity.name() + RECORD);
        if (!Files.exists(recordFile, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Properties record = read(recordFile);
        if (record == null || !"true".equals(record.getProperty("reserved"))
                || !identity.name().equals(record.getProperty("identity"))) {
            return Optional.empty();
        }
        Lock lock = tryLock(identity);
        if (lock != null) {
            lock.release();
            return Optional.empty();
        }
        FileClaim holder = holderElsewhere(identity, Path.of(record.getProperty("path", "?")));
        return Optional.of(new Reserved(holder.path(), holder.purpose() + holder.holderSuffix()));
    }

    /**
     * @return the lock, or null if it is held by another process, another instance in this JVM, or
     *         this instance
     */
    private Lock tryLock(FileIdentity identity) throws IOException {
        long offset = identity.lockOffset();
        if (fd >= 0) {
            Holds h = held.get(offset);
            // Where this instance's readers hold the byte shared, the kernel turns that into exclusive.
            if (h != null && h.writer || !sys.lockRange(fd, offset, 1)) {
                return null;
            }
            Holds holds = h != null ? h : new Holds();
            holds.writer = true;
            held.put(offset, holds);
            return () -> {
                holds.writer = false;
                if (holds.readers > 0) {
                    // Shared again for the readers: turning exclusive into shared cannot meet a conflict.
                    sys.lockRangeShared(fd, offset, 1);
                } else {
                    held.remove(offset);
                    sys.unlockRange(fd, offset, 1);
                }
            };
        }
        try {
            FileLock lock = channel.tryLock(offset, 1, false);
            return lock == null ? null : lock::release;
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    /** The claim whose lock stands in the way, as its record describes it if the record is its holder's. */
    private FileClaim holderElsewhere(FileIdentity identity, Path path) {
        Properties record = read(dir.resolve(identity.name() + RECORD));
        // A record left by a process that is gone, or whose id was reused, says nothing about the holder.
        OptionalLong pid = record != null && identity.name().equals(record.getProperty("identity"))
                ? livePid(record) : OptionalLong.empty();
        if (pid.isPresent()) {
            return FileClaim.elsewhere(identity, Path.of(record.getProperty("path", path.toString())),
                    record.getProperty("purpose", "open for writing by kcopyd"), pid);
        }
        return FileClaim.elsewhere(identity, path, "open for writing by another kcopyd process", OptionalLong.empty());
    }

    /**
     * Reads a record: a regular file of at most {@value #MOST_RECORD_BYTES} bytes, never followed
     * through a symbolic link. Anything else in a record's place (a link to {@code /dev/zero}, a FIFO,
     * which would block the open, a huge file, a directory) is no record (found by H29: such an
     * entry made every kcopyd process of the user run out of memory, hang, or fail).
     *
     * @return the record, or null if it is missing, not a record, or unreadable
     */
    private static Properties read(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile() || a.size() > MOST_RECORD_BYTES) {
                return null;
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                bytes = in.readNBytes(MOST_RECORD_BYTES + 1);
            }
            if (bytes.length > MOST_RECORD_BYTES) {
                return null;
            }
            Properties p = new Properties();
            p.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            return p;
        } catch (IOException | IllegalArgumentException e) {
            // Missing (not written yet, or just removed) or unreadable: the holder goes unnamed.
            return null;
        }
    }

    private static String started(ProcessHandle process) {
        return process.info().startInstant().map(Instant::toString).orElse("");
    }

    /**
     * Removes the records (and half-written ones) of claims nobody holds: left by processes that
     * were killed. A record whose lock is held stays, whoever holds it.
     */
    private void sweep() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                try {
                    sweep(entry);
                } catch (IOException e) {
                    // An entry that cannot go (a non-empty directory named as a record) is left; it is no record.
                    LOG.log(System.Logger.Level.WARNING, () -> "claims directory " + dir + ": cannot remove " + entry
                            + ": " + e);
                }
            }
        }
    }

    /** Removes {@code entry} if it is a record (or half of one) whose holder is gone. */
    private void sweep(Path entry) throws IOException {
        String name = entry.getFileName().toString();
        if (name.endsWith(RECORD)) {
            Lock lock = tryLock(new FileIdentity(name.substring(0, name.length() - RECORD.length())));
            if (lock != null) {
                try {
                    Files.deleteIfExists(entry);
                } finally {
                    lock.release();
                }
            }
        } else if (name.endsWith(READER)) {
            Properties record = read(entry);
            if (record == null || livePid(record).isEmpty()) {
                // Its process is gone, and its shared lock with it (or it is no record at all).
                Files.deleteIfExists(entry);
            }
        } else if (name.endsWith(TEMPORARY)) {
            sweepTemporary(entry, name);
        }
    }

    /** A record being written is {@code IDENTITY.holder.PID.tmp}: removed when its process is gone. */
    private static void sweepTemporary(Path entry, String name) throws IOException {
        String[] parts = name.split("\\.");
        try {
            long pid = Long.parseLong(parts[parts.length - 2]);
            if (ProcessHandle.of(pid).isEmpty()) {
                Files.deleteIfExists(entry);
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // Not kcopyd's: left alone.
        }
    }

    /** One claim's lock and record, held by this process. */
    final class Held implements Lock {

        private final FileIdentity identity;
        private final Path path;
        private final Lock lock;
        private final boolean reserved;
        private String published;

        private Held(FileIdentity identity, Path path, Lock lock, boolean reserved) {
            this.identity = identity;
            this.path = path;
            this.lock = lock;
            this.reserved = reserved;
        }

        /**
         * Writes the record again if the purpose changed (the snapshots of an origin, say).
         *
         * @param purpose what the file is to this process now
         * @throws IOException if the record cannot be written
         */
        void publish(String purpose) throws IOException {
            if (purpose.equals(published)) {
                return;
            }
            Properties record = record(identity, path);
            record.setProperty("purpose", purpose);
            if (reserved) {
                record.setProperty("reserved", "true");
            }
            writeRecord(dir.resolve(identity.name() + RECORD), record, "kcopyd claim: " + path);
            published = purpose;
        }

        /**
         * Removes the record, then releases the lock: in that order, so that the record of the
         * next holder, written once it has the lock, is never removed.
         *
         * @throws IOException if the record cannot be removed or the lock released
         */
        @Override
        public void release() throws IOException {
            try {
                Files.deleteIfExists(dir.resolve(identity.name() + RECORD));
            } finally {
                lock.release();
            }
        }
    }
}
