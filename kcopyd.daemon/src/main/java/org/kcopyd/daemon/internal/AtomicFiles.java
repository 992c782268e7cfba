package org.kcopyd.daemon.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * Owner-only files replaced atomically: the new content goes to a temporary file in the same
 * directory (mode 0600), which is fsynced, renamed over the target, and then the directory is
 * fsynced, so after a crash at any point the target holds either its old or its new content, whole.
 * Deleting fsyncs the directory too. Temporary files are named {@code .NAME.RANDOM.tmp}: a crash
 * between writing and renaming leaves one behind, which {@link #isTemporary} recognises.
 *
 * <p>Static methods, safe from any thread; two writers of one target must be serialised by the caller
 * (the last rename wins). Errors are {@link IOException}s naming the file.
 */
public final class AtomicFiles {

    /** rw------- */
    public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final String TEMPORARY_SUFFIX = ".tmp";
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {
    }

    /**
     * Replaces {@code target} with {@code content}.
     *
     * @param target  the file
     * @param content its new bytes
     * @throws IOException if a step fails; the target then keeps its old content and no temporary
     *                     file is left
     */
    public static void write(Path target, byte[] content) throws IOException {
        Path temporary = prepare(target, content);
        try {
            commit(temporary, target);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /**
     * The first half of {@link #write}: writes and fsyncs a temporary file next to {@code target}.
     *
     * @return the temporary file, to hand to {@link #commit}
     * @throws IOException if it cannot be written (nothing is left behind then)
     */
    static Path prepare(Path target, byte[] content) throws IOException {
        Path directory = target.toAbsolutePath().getParent();
        byte[] random = new byte[6];
        RANDOM.nextBytes(random);
        Path temporary = directory.resolve("." + target.getFileName() + "." + HexFormat.of().formatHex(random)
                + TEMPORARY_SUFFIX);
        try (FileChannel channel = FileChannel.open(temporary, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(OWNER_ONLY))) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw new IOException("cannot write " + temporary + " (for " + target + "): " + e.getMessage(), e);
        }
        return temporary;
    }

    /** The second half of {@link #write}: renames the temporary file over the target, fsyncs the directory. */
    static void commit(Path temporary, Path target) throws IOException {
        try {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + temporary + " to " + target + " atomically: " + e.getMessage(), e);
        }
        syncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Deletes {@code target} if it exists and fsyncs its directory.
     *
     * @return whether there was a file to delete
     * @throws IOException if it cannot be deleted
     */
    public static boolean delete(Path target) throws IOException {
        boolean deleted = Files.deleteIfExists(target);
        if (deleted) {
            syncDirectory(target.toAbsolutePath().getParent());
        }
        return deleted;
    }

    /** Makes a directory's entries (renames, deletions) durable. */
    public static void syncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Whether a file name is one of this class's temporary files (left by a crash). */
    public static boolean isTemporary(String name) {
        return name.startsWith(".") && name.endsWith(TEMPORARY_SUFFIX);
    }
}
