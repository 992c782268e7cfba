package org.kcopyd.control.internal.osgi;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

import org.kcopyd.control.internal.http.AccessCheck;

/**
 * Reads the control token: the first line of an absolute path's regular file that only its owner
 * may read or write (no permission for group or others: anyone who can read it controls the
 * daemon), holding 64 hexadecimal characters. Stateless.
 */
final class TokenFile {

    private static final Set<PosixFilePermission> OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private TokenFile() {
    }

    /**
     * @param file the configured path
     * @return the token
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    static String read(String file) {
        if (file == null || file.isBlank()) {
            throw new IllegalArgumentException(ControlComponent.PID + ": tokenFile is not set: give the absolute path "
                    + "of the token file");
        }
        Path path = Path.of(file);
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException(ControlComponent.PID + ": tokenFile " + file + " is not an absolute path");
        }
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(ControlComponent.PID + ": token file " + file + (Files.exists(path,
                    LinkOption.NOFOLLOW_LINKS) ? " is not a regular file (a link, a directory...)" : " does not exist"));
        }
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(ControlComponent.PID + ": cannot read the permissions of token file "
                    + file + ": " + e.getMessage(), e);
        }
        Set<PosixFilePermission> extra = EnumSet.noneOf(PosixFilePermission.class);
        extra.addAll(permissions);
        extra.retainAll(OTHERS);
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException(ControlComponent.PID + ": token file " + file + " is accessible to others "
                    + "(" + extra + "): it must be the owner's only (chmod 600 " + file + ")");
        }
        String line;
        try (BufferedReader in = Files.newBufferedReader(path, StandardCharsets.US_ASCII)) {
            char[] first = new char[200];
            int n = in.read(first);
            line = n <= 0 ? "" : new String(first, 0, n).lines().findFirst().orElse("").strip();
        } catch (IOException e) {
            throw new IllegalArgumentException(ControlComponent.PID + ": cannot read token file " + file + ": "
                    + e.getMessage(), e);
        }
        if (!AccessCheck.TOKEN.matcher(line).matches()) {
            throw new IllegalArgumentException(ControlComponent.PID + ": token file " + file + " does not start with a "
                    + "line of 64 hexadecimal characters (it has " + line.length() + " characters"
                    + (line.chars().allMatch(c -> Character.digit(c, 16) >= 0) ? "" : ", not all hexadecimal") + ")");
        }
        return line;
    }
}
