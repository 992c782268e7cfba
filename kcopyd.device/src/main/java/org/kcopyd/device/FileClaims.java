package org.kcopyd.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
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
 * stands for, so two nodes of one disk are the same file. Claims are held in this JVM (the
 * library bundle is shared by every kcopyd bundle of a framework), until {@link FileClaim#close()}.
 * Thread-safe.
 */
public final class FileClaims {

    private static final Map<Object, FileClaim> CLAIMS = new HashMap<>();

    private FileClaims() {
    }

    /**
     * Claims an existing file for a purpose.
     *
     * @param path    the file (symbolic links are followed)
     * @param purpose what the file is to its holder, completing "PATH is ...", e.g.
     *                {@code "the region log of mirror m1"}
     * @return the claim, to be closed when the file is no longer used for that purpose
     * @throws FileClaimedException if the file is claimed already; its message names the holder
     * @throws IOException          if the file cannot be examined (it does not exist, say)
     */
    public static FileClaim claim(Path path, String purpose) throws IOException {
        return claim(path, () -> purpose);
    }

    /**
     * Claims an existing file for a purpose that may change while it is held (the origin of
     * several snapshots, say): {@code purpose} is asked whenever a conflicting claim is refused.
     *
     * @param path    the file (symbolic links are followed)
     * @param purpose what the file is to its holder, completing "PATH is ..."; called under the
     *                registry's lock, so it must be quick and take no locks of its own callers
     * @return the claim
     * @throws FileClaimedException if the file is claimed already; its message names the holder
     * @throws IOException          if the file cannot be examined
     */
    public static FileClaim claim(Path path, Supplier<String> purpose) throws IOException {
        Object identity = identityOf(path);
        synchronized (CLAIMS) {
            FileClaim holder = CLAIMS.get(identity);
            if (holder != null) {
                throw new FileClaimedException(path, holder);
            }
            FileClaim claim = new FileClaim(identity, path, purpose);
            CLAIMS.put(identity, claim);
            return claim;
        }
    }

    /**
     * @param path a file
     * @return the claim held on it, if any
     * @throws IOException if the file cannot be examined
     */
    public static Optional<FileClaim> holderOf(Path path) throws IOException {
        Object identity = identityOf(path);
        synchronized (CLAIMS) {
            return Optional.ofNullable(CLAIMS.get(identity));
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
        BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
        if (attrs.isOther()) {
            try {
                return "rdev:" + Files.getAttribute(path, "unix:rdev");
            } catch (UnsupportedOperationException | IllegalArgumentException e) {
                // No unix view: the node's own identity below.
            }
        }
        Object key = attrs.fileKey();
        return key != null ? key : path.toRealPath();
    }

    static void release(FileClaim claim) {
        synchronized (CLAIMS) {
            CLAIMS.remove(claim.identity(), claim);
        }
    }
}
