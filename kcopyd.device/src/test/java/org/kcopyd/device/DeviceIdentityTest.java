package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device's identity: one file under any spelling has one, a copy has another; a block device
 * is known by what sysfs says of the disk before its number, so the same number on another disk
 * is another identity; a URI by its normalized form, never equal to a file's.
 */
class DeviceIdentityTest {

    @TempDir
    Path dir;

    @Test
    void aFileHasOneIdentityUnderEverySpellingAndACopyAnother() throws Exception {
        Path file = Files.write(dir.resolve("o.img"), new byte[4096]);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), file);
        Path hard = Files.createLink(dir.resolve("hard.img"), file);
        Path relative = Path.of("").toAbsolutePath().relativize(file);
        Path copy = Files.copy(file, dir.resolve("copy.img"), StandardCopyOption.COPY_ATTRIBUTES);

        String id = DeviceIdentity.of(file);

        assertThat(id).matches("file:.+:ino=" + Files.getAttribute(file, "unix:ino") + "(:fh=[0-9a-f]{16})?");
        assertThat(DeviceIdentity.isWellFormed(id)).isTrue();
        for (Path spelling : new Path[] {link, hard, relative, dir.resolve(".").resolve("o.img")}) {
            assertThat(DeviceIdentity.of(spelling)).as(spelling.toString()).isEqualTo(id);
        }
        assertThat(DeviceIdentity.of(copy)).isNotEqualTo(id);
    }

    @Test
    void aFilesDeviceIsKnownAsTheKernelKnowsTheDiskNotOnlyByItsNumber() throws Exception {
        Path file = Files.write(dir.resolve("o.img"), new byte[4096]);
        String number = DeviceIdentity.majorMinor(((Number) Files.getAttribute(file, "unix:dev")).longValue());
        long inode = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
        Path sysDevBlock = dir.resolve("sys/dev/block");

        assertThat(DeviceIdentity.of(file, sysDevBlock)).as("no sysfs entry").matches("file:dev=" + number + ":ino="
                + inode + "(:fh=[0-9a-f]{16})?");
        attribute(sys(number, "virtual/block/dm-3"), "dm/uuid", "LVM-Hk2bq0aXyZ");
        assertThat(DeviceIdentity.of(file, sysDevBlock)).matches("file:dm-uuid=LVM-Hk2bq0aXyZ:ino=" + inode
                + "(:fh=[0-9a-f]{16})?");
    }

    @Test
    void deviceNumbersAreDecodedAsLinuxEncodesThem() {
        assertThat(DeviceIdentity.majorMinor(makedev(8, 16))).isEqualTo("8:16");
        assertThat(DeviceIdentity.majorMinor(makedev(259, 3))).isEqualTo("259:3");
        assertThat(DeviceIdentity.majorMinor(makedev(253, 70000))).isEqualTo("253:70000");
        assertThat(DeviceIdentity.majorMinor(makedev(5000, 1))).isEqualTo("5000:1");
    }

    /** glibc's gnu_dev_makedev. */
    private static long makedev(long major, long minor) {
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffL) << 12) | ((major & ~0xfffL) << 32);
    }

    /** A fake {@code /sys/dev/block}: {@code MAJOR:MINOR} links to device directories, as the kernel has them. */
    private Path sys(String majorMinor, String device) throws IOException {
        Path devices = Files.createDirectories(dir.resolve("sys/devices").resolve(device));
        Path block = Files.createDirectories(dir.resolve("sys/dev/block"));
        Files.createSymbolicLink(block.resolve(majorMinor), devices);
        return devices;
    }

    private static void attribute(Path device, String name, String value) throws IOException {
        Files.createDirectories(device.resolve(name).getParent());
        Files.writeString(device.resolve(name), value + "\n");
    }

    private String block(String majorMinor) {
        return DeviceIdentity.blockIdentity(majorMinor, dir.resolve("sys/dev/block"));
    }

    @Test
    void aDiskIsKnownByItsWwidAndAPartitionByItsDiskNumberAndStart() throws Exception {
        Path sdb = sys("8:16", "pci0/host1/block/sdb");
        attribute(sdb, "device/wwid", "naa.5000c500a1b2c3d4");
        Path sdb1 = sys("8:17", "pci0/host1/block/sdb/sdb1");
        attribute(sdb1, "partition", "1");
        attribute(sdb1, "start", "2048");
        Path sda = sys("8:0", "pci0/host0/block/sda");
        attribute(sda, "device/wwid", "t10.ATA     ST2000DM001-1CH1          Z1E3ABCD");

        assertThat(block("8:16")).isEqualTo("wwid=naa.5000c500a1b2c3d4");
        assertThat(block("8:17")).isEqualTo("wwid=naa.5000c500a1b2c3d4/part=1:start=2048");
        assertThat(block("8:0")).as("spaces would need quoting").isEqualTo("wwid=t10.ATA_ST2000DM001-1CH1_Z1E3ABCD");
        assertThat(DeviceIdentity.isWellFormed("block:" + block("8:17"))).isTrue();
    }

    @Test
    void theSameDeviceNumberOnAnotherDiskIsAnotherIdentity() throws Exception {
        attribute(sys("8:16", "host1/block/sdb"), "device/wwid", "naa.5000c500a1b2c3d4");
        String before = block("8:16");
        // After a reboot sdb (8:16) is the other disk.
        Files.delete(dir.resolve("sys/dev/block/8:16"));
        attribute(sys("8:16", "host2/block/sdb"), "device/wwid", "naa.5000c500ffffffff");

        assertThat(block("8:16")).isNotEqualTo(before);
    }

    @Test
    void deviceMapperLoopSerialAndBareDevices() throws Exception {
        attribute(sys("253:3", "virtual/block/dm-3"), "dm/uuid", "LVM-Hk2bq0aXyZ");
        Path backing = Files.write(dir.resolve("disk.img"), new byte[4096]);
        Path loop0 = sys("7:0", "virtual/block/loop0");
        attribute(loop0, "loop/backing_file", backing.toString());
        attribute(loop0, "loop/offset", "0");
        Path loop1 = sys("7:1", "virtual/block/loop1");
        attribute(loop1, "loop/backing_file", backing.toString());
        attribute(loop1, "loop/offset", "1048576");
        attribute(sys("7:2", "virtual/block/loop2"), "loop/backing_file", dir.resolve("gone.img") + " (deleted)");
        Path vda = sys("252:0", "virtio0/block/vda");
        attribute(vda, "serial", "disk-1");
        attribute(vda, "dev", "252:0");
        attribute(sys("8:32", "host3/block/sdc"), "size", "4096");

        // A loop device's identity holds its file's base; the file's handle, if any, ends the whole identity.
        String file = DeviceIdentity.of(backing, dir.resolve("sys/dev/block")).substring("file:".length())
                .replaceAll(":fh=[0-9a-f]{16}$", "");
        assertThat(block("253:3")).isEqualTo("dm-uuid=LVM-Hk2bq0aXyZ");
        assertThat(block("7:0")).isEqualTo("loop-of=" + file);
        assertThat(block("7:1")).isEqualTo("loop-of=" + file + ":offset=1048576");
        assertThat(block("7:2")).startsWith("loop-of-gone=");
        assertThat(block("252:0")).as("a serial may be shared").isEqualTo("serial=disk-1:dev=252:0");
        assertThat(block("8:32")).as("nothing known but its number").isEqualTo("dev=8:32");
        assertThat(block("9:9")).as("not in sysfs").isEqualTo("dev=9:9");
    }

    @Test
    void aTooLongIdentityIsKeptAsItsHash() throws Exception {
        attribute(sys("8:48", "host4/block/sdd"), "device/wwid", "x".repeat(300));
        attribute(sys("8:64", "host5/block/sde"), "device/wwid", "x".repeat(299) + "y");

        String id = DeviceIdentity.compact("block:" + block("8:48"));

        assertThat(id).startsWith("block:sha256=").hasSizeLessThanOrEqualTo(DeviceIdentity.MAX_LENGTH);
        assertThat(DeviceIdentity.isWellFormed(id)).isTrue();
        assertThat(DeviceIdentity.compact("block:" + block("8:48"))).isEqualTo(id);
        assertThat(DeviceIdentity.compact("block:" + block("8:64"))).isNotEqualTo(id);
    }


    /**
     * Where the file system gives handles (ext4 here; tmpfs, XFS, Btrfs), a file's identity holds its handle's hash,
     * and one recorded before that (no {@code :fh=} part) still matches it; another file's never does.
     */
    @Test
    void aRecordedIdentityWithoutAHandleMatchesTheSameFileOnly() throws Exception {
        Path file = Files.write(dir.resolve("o.img"), new byte[4096]);
        Path other = Files.write(dir.resolve("p.img"), new byte[4096]);
        String id = DeviceIdentity.of(file);
        String before = id.replaceAll(":fh=[0-9a-f]{16}", "");

        assertThat(DeviceIdentity.matches(id, id)).isTrue();
        assertThat(DeviceIdentity.matches(before, id)).as("recorded without the handle").isTrue();
        assertThat(DeviceIdentity.matches(before, DeviceIdentity.of(other))).isFalse();
        assertThat(DeviceIdentity.matches(null, id)).isFalse();
        if (FileHoles.system() != null && !before.equals(id)) {
            assertThat(DeviceIdentity.matches(id, DeviceIdentity.of(other))).isFalse();
            assertThat(DeviceIdentity.matches(id + "0", id)).as("another handle").isFalse();
        }
    }

    /**
     * H53-3: an identity that fits in 128 characters alone but not with the handle's part is kept as its base's hash
     * and the handle; one recorded whole before handles still matches it, as one recorded hashed.
     */
    @Test
    void aRecordWithoutTheHandleMatchesWhenOnlyTheHashFitsWithIt() {
        String base = "file:wwid=" + "w".repeat(100) + ":ino=12";
        String hashedBase = "file:sha256=" + sha256Hex(base);
        String now = hashedBase + ":fh=0123456789abcdef";

        assertThat(base.length()).isLessThanOrEqualTo(DeviceIdentity.MAX_LENGTH);
        assertThat(DeviceIdentity.matches(base, now)).as("recorded whole").isTrue();
        assertThat(DeviceIdentity.matches(hashedBase, now)).as("recorded hashed").isTrue();
        assertThat(DeviceIdentity.matches(base.replace(":ino=12", ":ino=13"), now)).isFalse();
        assertThat(DeviceIdentity.isWellFormed(now)).as("a user may confirm it as it is printed").isTrue();
    }

    private static String sha256Hex(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aFilesUriIsNotTheFilesIdentity() throws Exception {
        assertThat(DeviceIdentity.isWellFormed("nbd://host/a disk")).as("a space").isFalse();
        assertThat(DeviceIdentity.isWellFormed("ino=12")).as("no kind").isFalse();
        Path file = Files.write(dir.resolve("o.img"), new byte[4096]);
        assertThat(DeviceIdentity.of(file.toUri())).isNotEqualTo(DeviceIdentity.of(file));
    }
}
