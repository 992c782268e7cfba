package org.kcopyd.device;

import java.net.URI;
import java.util.HashMap;
import java.util.Map;

/**
 * Devices named by URI (NBD exports) open for writing in this process, told apart by what they
 * connect to ({@link DeviceUriIdentity}): the claims of remote devices, as {@link FileClaims} are
 * of files. One export written through two devices of one process (a mirror's leg and a
 * snapshot's origin, or the legs of two mirrors) would have each bypass the other: a write
 * through the origin never reaches the mirror's other legs, a resync overwrites what a snapshot
 * protects. Unlike a file's, such a claim is seen by this process only: kcopyd cannot see other
 * clients of an export, which should be served to one kcopyd alone. Thread-safe. Since 1.10.0.
 */
public final class UriClaims {

    /** Purposes by identity. Guarded by itself. */
    private static final Map<String, String> HELD = new HashMap<>();
    /**
     * Purposes by the file identity of a Unix socket claimed (its device and inode) and the export's
     * name: a hard link to a socket is another path to the same server (H40), which the URI's
     * identity cannot see. Guarded by {@link #HELD}.
     */
    private static final Map<String, String> SOCKETS = new HashMap<>();

    /** A claim, released once by {@link #close()}. */
    public interface Claim extends AutoCloseable {
        @Override
        void close();
    }

    private UriClaims() {
    }

    /**
     * @param uri an absolute URI of a scheme other than {@code file}
     * @return what a device of this process holds the export {@code uri} names for (under this spelling or
     *         another), such as {@code "open for writing by bundle kcopyd.mirror"}, or empty if none does
     * @since 1.13
     */
    public static java.util.Optional<String> holderOf(URI uri) {
        String identity = DeviceUriIdentity.of(uri);
        String socket = DeviceUriIdentity.ofSocketFile(uri);
        synchronized (HELD) {
            return java.util.Optional.ofNullable(holderLocked(identity, socket));
        }
    }

    /** Under {@code HELD}'s lock: the purpose {@code identity} (or the socket file {@code socket}) is held for. */
    private static String holderLocked(String identity, String socket) {
        String holder = HELD.get(identity);
        return holder == null && socket != null ? SOCKETS.get(socket) : holder;
    }

    /**
     * Claims the device {@code uri} names for writing.
     *
     * @param uri     an absolute URI of a scheme other than {@code file}
     * @param purpose what it is written for, said to whoever is refused it: {@code "open for writing by bundle
     *                kcopyd.mirror"}
     * @return the claim, to close when the device is closed
     * @throws FileClaimedException naming the URI and the purpose it is held for, if a device of this
     *                              process has it open for writing (under this spelling or another)
     */
    public static Claim claim(URI uri, String purpose) throws FileClaimedException {
        String identity = DeviceUriIdentity.of(uri);
        // The export name too (DeviceUriIdentity keeps it): a server may serve several exports on one socket.
        String socket = DeviceUriIdentity.ofSocketFile(uri);
        synchronized (HELD) {
            String holder = holderLocked(identity, socket);
            if (holder != null) {
                throw new FileClaimedException(DeviceUris.normalized(uri) + " is " + holder + " already (in this "
                        + "process); two devices writing one export would each bypass the other (a mirror's leg "
                        + "written through a snapshot's origin, say), so it is not opened again: use the device open "
                        + "already (origin:NAME, mirror:NAME), or another export");
            }
            HELD.put(identity, purpose);
            if (socket != null) {
                SOCKETS.put(socket, purpose);
            }
        }
        return new Claim() {
            private boolean closed;

            @Override
            public void close() {
                synchronized (HELD) {
                    if (!closed) {
                        closed = true;
                        HELD.remove(identity, purpose);
                        if (socket != null) {
                            SOCKETS.remove(socket, purpose);
                        }
                    }
                }
            }
        };
    }
}
