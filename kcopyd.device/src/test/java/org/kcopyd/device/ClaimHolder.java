package org.kcopyd.device;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * The other process of {@link ClaimsAcrossProcessesTest}: opens {@code args[0]} for writing,
 * claimed for {@code args[1]} (for reading, registered as its reader, if {@code args[1]} is
 * {@value #READ}), prints {@code claimed PID} (or {@code refused MESSAGE} and exits 1),
 * then obeys standard input, one command a line, answering each:
 * <ul>
 * <li>{@code touch PATH}: reads the claimed file every way a process can, opens and closes the
 *     claims' lock file, and claims and releases {@code PATH}; none of it may drop the claim
 *     (closing any descriptor of a file drops the process's POSIX locks on it);
 * <li>{@code reserve PATH}: {@linkplain FileClaims#reserve reserves} {@code PATH} as a daemon's state
 *     directory (or lock) is reserved;
 * <li>{@code unreserve}: ends the last reservation;
 * <li>{@code release}: closes the device, releasing the claim;
 * <li>{@code exit}: ends the process normally, without releasing anything.
 * </ul>
 */
public final class ClaimHolder {

    /** The purpose that asks for opening the file for reading. */
    static final String READ = "--read";

    private ClaimHolder() {
    }

    public static void main(String[] args) throws IOException {
        Path path = Path.of(args[0]);
        FileDeviceOpener opener = new FileDeviceOpener(false, args[1]);
        BlockDevice device;
        try {
            device = READ.equals(args[1]) ? opener.open(path) : opener.open(path, DeviceOption.READ_WRITE);
        } catch (FileClaimedException e) {
            System.out.println("refused " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println("claimed " + ProcessHandle.current().pid());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        java.util.Deque<AutoCloseable> reservations = new java.util.ArrayDeque<>();
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.startsWith("touch ")) {
                opener.open(path).close();
                FileChannel.open(path, StandardOpenOption.READ).close();
                Files.readAllBytes(path);
                FileClaims.holderOf(path);
                // The claims' own lock file, opened and closed by another descriptor: a POSIX lock
                // would be dropped by this (found by a hostile test through a daemon job).
                FileChannel.open(ClaimDirectory.locate().resolve(ClaimLockFile.LOCK_FILE), StandardOpenOption.READ)
                        .close();
                FileClaims.claim(Path.of(line.substring(6)), "touched").close();
                System.out.println("touched");
            } else if (line.startsWith("reserve ")) {
                reservations.push(FileClaims.reserve(Path.of(line.substring(8)), "in the state directory of a test "
                        + "daemon"));
                System.out.println("reserved");
            } else if (line.equals("unreserve")) {
                try {
                    reservations.pop().close();
                } catch (Exception e) {
                    throw new IOException(e);
                }
                System.out.println("unreserved");
            } else if (line.equals("release")) {
                device.close();
                System.out.println("released");
            } else if (line.equals("exit")) {
                System.exit(0);
            }
        }
    }
}
