package org.kcopyd.device;

import java.util.Set;

/**
 * Whether letting the kernel copy between two files beats the engine's page path, which is what
 * copy offload's default ({@code --offload=auto}) asks. Measured (BENCHMARKS.md, stop 16): on
 * ext4 a 1 GiB {@code copy_file_range} in 8 MiB chunks ran 3281 MiB/s where the page path ran
 * 4222 MiB/s; on tmpfs both about 3000. The kernel's copy wins only where the data does not move
 * at all:
 * <ul>
 * <li>file systems that share blocks ({@value #KINDS_REFLINK}): the copy is a reflink
 * ({@code FICLONERANGE}, or {@code copy_file_range}, which reflinks there too), metadata only;
 * <li>network file systems ({@value #KINDS_NETWORK}): {@code copy_file_range} is a server-side
 * copy (NFS 4.2 {@code COPY}, SMB {@code FSCTL_SRV_COPYCHUNK}); the data does not cross the
 * network twice.
 * </ul>
 * Both files must be on one file system (same type and {@code f_fsid}): reflinks and server-side
 * copies exist only within one. Anywhere else, or when a file system is unknown, the answer is
 * no. Pure functions; thread-safe.
 */
final class OffloadPolicy {

    /** {@code XFS_SUPER_MAGIC}. */
    static final long XFS = 0x58465342L;
    /** {@code BTRFS_SUPER_MAGIC}. */
    static final long BTRFS = 0x9123683EL;
    /** {@code BCACHEFS_SUPER_MAGIC} (Linux 6.7). */
    static final long BCACHEFS = 0xCA451A4EL;
    /** {@code OCFS2_SUPER_MAGIC}. */
    static final long OCFS2 = 0x7461636FL;
    /** {@code NFS_SUPER_MAGIC} (NFS 2, 3 and 4). */
    static final long NFS = 0x6969L;
    /** {@code CIFS_SUPER_MAGIC}. */
    static final long CIFS = 0xFF534D42L;
    /** {@code SMB2_SUPER_MAGIC}. */
    static final long SMB2 = 0xFE534D42L;

    static final String KINDS_REFLINK = "XFS, Btrfs, bcachefs, OCFS2";
    static final String KINDS_NETWORK = "NFS, CIFS/SMB";

    private static final Set<Long> REFLINK = Set.of(XFS, BTRFS, BCACHEFS, OCFS2);
    private static final Set<Long> NETWORK = Set.of(NFS, CIFS, SMB2);

    private OffloadPolicy() {
    }

    /**
     * @param source      the source file's file system, null if unknown
     * @param destination the destination file's file system, null if unknown
     * @return true if both are one file system that copies without moving the data through
     *         this process (see the class documentation)
     */
    static boolean beatsPages(FileSystemId source, FileSystemId destination) {
        if (source == null || !source.equals(destination)) {
            return false;
        }
        return REFLINK.contains(source.type()) || NETWORK.contains(source.type());
    }
}
