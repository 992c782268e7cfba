package org.kcopyd.device;

import java.io.IOException;
import java.io.Reader;
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
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;

/**
 * The claims of every kcopyd process of one user, in one {@linkplain ClaimDirectory directory}.
 * A claim is an exclusive POSIX record lock on one byte of {@value #LOCK_FILE}, at the offset its
 * file's {@linkplain FileIdentity#lockOffset() identity} gives, and a record
 * {@code IDENTITY.holder} saying who holds it (process id and start, path, purpose) for the
 * refusal message of whoever asks next.
 *
 * <p>Why one lock file, opened once and never closed: POSIX record locks belong to a process, and
 * closing <em>any</em> descriptor of a file drops all the process's locks on it (see
 * {@link FileLock}). So the claimed files themselves are never locked (closing a reader of an
 * origin would drop its claim); {@value #LOCK_FILE} is opened by this class only, once per
 * instance, and held open for the life of the process, even when the instance is no longer
 * used (see {@link #pin}). The locked bytes lie past its end (it
 * stays empty), which POSIX allows. Nothing that carries a lock is ever deleted, so there is no
 * race between unlinking a lock file and locking it. The kernel drops the locks of a process that
 * ends, however it ends ({@code kill -9} included); its records stay behind but are not believed
 * (their lock is free) and are removed by the next process that opens the directory.
 *
 * <p>Two instances in one process (two copies of the {@code kcopyd.device} bundle in one JVM)
 * see each other's claims through the JVM's own lock table ({@link OverlappingFileLockException}).
 * Not thread-safe: {@link FileClaims} calls it under its lock.
 */
final class ClaimLockFile {

    /** The file every claim of the directory locks a byte of. */
    static final String LOCK_FILE = "claims.lock";

    private static final String RECORD = ".holder";
    private static final String TEMPORARY = ".tmp";
    private static final long PID = ProcessHandle.current().pid();
    private static final String STARTED = started(ProcessHandle.current());

    private final Path dir;
    /** Never closed: closing it would drop every claim this process holds (see above). */
    private final FileChannel channel;

    private ClaimLockFile(Path dir, FileChannel channel) {
        this.dir = dir;
        this.channel = channel;
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
        ClaimLockFile file = new ClaimLockFile(dir, channel);
        file.sweep();
        return file;
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
        FileLock lock = tryLock(identity);
        if (lock == null) {
            throw new FileClaimedException(path, holderElsewhere(identity, path));
        }
        Held held = new Held(identity, path.toAbsolutePath(), lock);
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
        FileLock lock = tryLock(identity);
        if (lock == null) {
            return Optional.of(holderElsewhere(identity, path));
        }
        lock.release();
        return Optional.empty();
    }

    /** @return the lock, or null if it is held by another process or another instance in this JVM */
    private FileLock tryLock(FileIdentity identity) throws IOException {
        try {
            return channel.tryLock(identity.lockOffset(), 1, false);
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    /** The claim whose lock stands in the way, as its record describes it if the record is its holder's. */
    private FileClaim holderElsewhere(FileIdentity identity, Path path) {
        Properties record = read(dir.resolve(identity.name() + RECORD));
        if (record != null && identity.name().equals(record.getProperty("identity"))) {
            try {
                long pid = Long.parseLong(record.getProperty("pid", ""));
                Optional<ProcessHandle> process = ProcessHandle.of(pid);
                // A record left by a process that is gone, or whose id was reused, says nothing about the holder.
                if (process.isPresent() && Objects.equals(started(process.get()), record.getProperty("started"))) {
                    return FileClaim.elsewhere(identity, Path.of(record.getProperty("path", path.toString())),
                            record.getProperty("purpose", "open for writing by kcopyd"), OptionalLong.of(pid));
                }
            } catch (NumberFormatException e) {
                // Not a record kcopyd wrote: as if there were none.
            }
        }
        return FileClaim.elsewhere(identity, path, "open for writing by another kcopyd process", OptionalLong.empty());
    }

    private static Properties read(Path file) {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Properties p = new Properties();
            p.load(in);
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
                String name = entry.getFileName().toString();
                if (name.endsWith(RECORD)) {
                    FileLock lock = tryLock(new FileIdentity(name.substring(0, name.length() - RECORD.length())));
                    if (lock != null) {
                        try {
                            Files.deleteIfExists(entry);
                        } finally {
                            lock.release();
                        }
                    }
                } else if (name.endsWith(TEMPORARY)) {
                    sweepTemporary(entry, name);
                }
            }
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
    final class Held {

        private final FileIdentity identity;
        private final Path path;
        private final FileLock lock;
        private String published;

        private Held(FileIdentity identity, Path path, FileLock lock) {
            this.identity = identity;
            this.path = path;
            this.lock = lock;
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
            Properties record = new Properties();
            record.setProperty("identity", identity.name());
            record.setProperty("pid", Long.toString(PID));
            record.setProperty("started", STARTED);
            record.setProperty("path", path.toString());
            record.setProperty("purpose", purpose);
            Path target = dir.resolve(identity.name() + RECORD);
            Path temporary = dir.resolve(identity.name() + RECORD + "." + PID + TEMPORARY);
            try (Writer out = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
                record.store(out, "kcopyd claim: " + path);
            }
            // Renamed into place, so that a reader never sees half a record.
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            published = purpose;
        }

        /**
         * Removes the record, then releases the lock: in that order, so that the record of the
         * next holder, written once it has the lock, is never removed.
         *
         * @throws IOException if the record cannot be removed or the lock released
         */
        void release() throws IOException {
            try {
                Files.deleteIfExists(dir.resolve(identity.name() + RECORD));
            } finally {
                lock.release();
            }
        }
    }
}
