package org.kcopyd.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * What {@link FileClaims} compares files by, as a name that is also safe as a file name and the
 * same in every process: {@code dev-DEV-ino-INO} for a file, {@code blk-RDEV} ({@code chr-RDEV})
 * for a block (character) device node, since every node of one disk stands for the same device.
 */
record FileIdentity(String name) {

    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFCHR = 0020000;

    /** The byte offsets lock ranges are taken from: below 2^62, clear of any overflow. */
    private static final long OFFSET_MASK = (1L << 62) - 1;

    /**
     * @param path a file or device node (symbolic links are followed)
     * @return its identity
     * @throws IOException if it cannot be examined
     */
    static FileIdentity of(Path path) throws IOException {
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(path, "unix:mode,dev,ino,rdev");
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            // No unix view (not a POSIX system): the file key or, without one, the real path, hashed.
            Object key = Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            return new FileIdentity("key-" + HexFormat.of().formatHex(sha256(
                    key != null ? key.toString() : path.toRealPath().toString())));
        }
        int type = ((Number) attrs.get("mode")).intValue() & S_IFMT;
        if (type == S_IFBLK) {
            return new FileIdentity("blk-" + attrs.get("rdev"));
        }
        if (type == S_IFCHR) {
            return new FileIdentity("chr-" + attrs.get("rdev"));
        }
        return new FileIdentity("dev-" + attrs.get("dev") + "-ino-" + attrs.get("ino"));
    }

    /**
     * @return where in the claims lock file the claim on this file is locked: spread over 2^62
     *         offsets by a hash, so that two files meet on one offset with odds of about 2^-62
     */
    long lockOffset() {
        return ByteBuffer.wrap(sha256(name)).getLong() & OFFSET_MASK;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            // Every Java runtime has SHA-256.
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
