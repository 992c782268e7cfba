package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@link OffloadPolicy#beatsPages}, the default offload decision, from {@code statfs} values:
 * yes for one file system that shares blocks (XFS, Btrfs, bcachefs, OCFS2) or copies on the
 * server (NFS, CIFS, SMB2); no for ext4, tmpfs and any other type, for two file systems (another
 * {@code f_fsid} or type) and when either is unknown.
 */
class OffloadPolicyTest {

    private static final long EXT4 = 0xEF53L;
    private static final long TMPFS = 0x01021994L;

    private static FileSystemId fs(long type, long fsid) {
        return new FileSystemId(type, fsid);
    }

    @Test
    void reflinkAndNetworkFileSystemsOffloadWithinOneFileSystem() {
        long[] types = {0x58465342L, 0x9123683EL, 0xCA451A4EL, 0x7461636FL, 0x6969L, 0xFF534D42L, 0xFE534D42L};
        for (long type : types) {
            assertThat(OffloadPolicy.beatsPages(fs(type, 42), fs(type, 42))).as("f_type 0x%x", type).isTrue();
        }
    }

    @Test
    void ext4TmpfsAndOtherTypesUseThePages() {
        long[] types = {EXT4, TMPFS, 0x517BL /* old SMB */, 0x794C7630L /* overlayfs */, 0x65735546L /* FUSE */, 0};
        for (long type : types) {
            assertThat(OffloadPolicy.beatsPages(fs(type, 7), fs(type, 7))).as("f_type 0x%x", type).isFalse();
        }
    }

    @Test
    void twoFileSystemsOrAnUnknownOneUseThePages() {
        assertThat(OffloadPolicy.beatsPages(fs(OffloadPolicy.XFS, 1), fs(OffloadPolicy.XFS, 2))).isFalse();
        assertThat(OffloadPolicy.beatsPages(fs(OffloadPolicy.XFS, 1), fs(OffloadPolicy.BTRFS, 1))).isFalse();
        assertThat(OffloadPolicy.beatsPages(fs(OffloadPolicy.NFS, 1), fs(EXT4, 1))).isFalse();
        assertThat(OffloadPolicy.beatsPages(null, fs(OffloadPolicy.XFS, 1))).isFalse();
        assertThat(OffloadPolicy.beatsPages(fs(OffloadPolicy.XFS, 1), null)).isFalse();
        assertThat(OffloadPolicy.beatsPages(null, null)).isFalse();
    }
}
