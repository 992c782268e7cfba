package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DeviceBacking} follows partitions to their disks and loop devices to their files
 * through a copy of sysfs' layout ({@code /sys/dev/block/MAJOR:MINOR} links into
 * {@code devices/.../block/DISK[/PARTITION]}), and compares windows by identity and byte range.
 */
class DeviceBackingTest {

    @TempDir
    Path dir;

    private Path sysDevBlock() throws Exception {
        return Files.createDirectories(dir.resolve("dev/block"));
    }

    /** A device directory under {@code devices/}, linked from {@code dev/block/NUMBER}. */
    private Path device(String relative, String number, long sectors) throws Exception {
        Path d = Files.createDirectories(dir.resolve("devices").resolve(relative));
        Files.writeString(d.resolve("dev"), number + "\n");
        Files.writeString(d.resolve("size"), sectors + "\n");
        Files.createSymbolicLink(sysDevBlock().resolve(number), d);
        return d;
    }

    @Test
    void windowsOfOneFileThroughABlockDeviceAreTheSameBytesAndSaySo() {
        DeviceBacking.Window file = new DeviceBacking.Window("a", 0, 1 << 20, "");
        DeviceBacking.Window loop = new DeviceBacking.Window("a", 4096, 8192, "a loop device over /a.img from byte 4096");
        DeviceBacking.Window after = new DeviceBacking.Window("a", 1 << 20, 4096, "a loop device over /a.img from byte "
                + (1 << 20));
        DeviceBacking.Window other = new DeviceBacking.Window("b", 0, 1 << 20, "");

        assertThat(DeviceBacking.sameBytes("/dev/loop0", loop, "/a.img", file)).isEqualTo("/dev/loop0 (a loop device over "
                + "/a.img from byte 4096) and /a.img are the same bytes");
        assertThat(DeviceBacking.sameBytes("/dev/loop1", after, "/a.img", file)).as("past the file's end").isNull();
        assertThat(DeviceBacking.sameBytes("/a.img", file, "/a.img", file)).as("one file: the identities' business")
                .isNull();
        assertThat(DeviceBacking.sameBytes("/dev/loop0", loop, "/b.img", other)).isNull();
        assertThat(file.describe("/a.img")).isEqualTo("/a.img");
    }

    @Test
    void devNumbersRoundTripAsGlibcEncodesThem() {
        for (String mm : new String[] {"7:0", "8:17", "259:3", "253:300", "4095:1048575"}) {
            long rdev = DeviceBacking.makedev(mm);
            assertThat(DeviceBacking.major(rdev) + ":" + DeviceBacking.minor(rdev)).isEqualTo(mm);
        }
        assertThat(DeviceBacking.makedev("8:17")).as("sdb1's st_rdev").isEqualTo(0x811);
    }

    @Test
    void aLoopDeviceIsAWindowOntoItsFileFromItsOffset() throws Exception {
        Path file = Files.write(dir.resolve("a.img"), new byte[8192]);
        Path loop = device("virtual/block/loop3", "7:3", 16);
        Files.createDirectories(loop.resolve("loop"));
        Files.writeString(loop.resolve("loop/backing_file"), file + "\n");
        Files.writeString(loop.resolve("loop/offset"), "4096\n");

        DeviceBacking.Window w = DeviceBacking.follow(DeviceBacking.makedev("7:3"), "own", sysDevBlock());

        assertThat(w.identity()).isEqualTo(FileClaims.identityOf(file));
        assertThat(w.offset()).isEqualTo(4096);
        assertThat(w.length()).isEqualTo(16 * 512);
        assertThat(w.via()).isEqualTo("a loop device over " + file + " from byte 4096");
        DeviceBacking.Window whole = DeviceBacking.of(file, sysDevBlock());
        assertThat(whole.via()).isEmpty();
        assertThat(w.overlaps(0, 512, whole, 4096, 4608)).as("the loop's first sector is the file's ninth").isTrue();
        assertThat(w.overlaps(0, 512, whole, 0, 4096)).as("the file's first 4 KiB lie before the window").isFalse();
    }

    @Test
    void aPartitionIsAWindowOntoItsDiskAndAPartitionOfALoopOntoTheFile() throws Exception {
        Path disk = device("pci0/block/sdb", "8:16", 1 << 20);
        Path part = device("pci0/block/sdb/sdb2", "8:18", 2048);
        Files.writeString(part.resolve("partition"), "2\n");
        Files.writeString(part.resolve("start"), "4096\n");

        DeviceBacking.Window p = DeviceBacking.follow(DeviceBacking.makedev("8:18"), "own", sysDevBlock());
        assertThat(p.identity()).isEqualTo(new FileIdentity("blk-" + DeviceBacking.makedev("8:16")));
        assertThat(p.offset()).isEqualTo(4096L * 512);
        assertThat(p.length()).isEqualTo(2048L * 512);
        assertThat(p.via()).isEqualTo("a partition of block device 8:16 from byte " + 4096L * 512);
        DeviceBacking.Window d = DeviceBacking.follow(DeviceBacking.makedev("8:16"), "blk-" + DeviceBacking.makedev("8:16"),
                sysDevBlock());
        assertThat(d.identity()).isEqualTo("blk-" + DeviceBacking.makedev("8:16")).as("nothing below a disk");
        assertThat(d.offset()).isZero();

        Path file = Files.write(dir.resolve("b.img"), new byte[4096]);
        Path loop = device("virtual/block/loop1", "7:1", 4096);
        Files.createDirectories(loop.resolve("loop"));
        Files.writeString(loop.resolve("loop/backing_file"), file + "\n");
        Path loopPart = device("virtual/block/loop1/loop1p1", "259:0", 100);
        Files.writeString(loopPart.resolve("partition"), "1\n");
        Files.writeString(loopPart.resolve("start"), "2048\n");
        DeviceBacking.Window lp = DeviceBacking.follow(DeviceBacking.makedev("259:0"), "own", sysDevBlock());
        assertThat(lp.identity()).isEqualTo(FileClaims.identityOf(file));
        assertThat(lp.offset()).isEqualTo(2048L * 512);
        assertThat(lp.length()).isEqualTo(100L * 512);
        assertThat(lp.via()).isEqualTo("a partition of block device 7:1 from byte " + 2048L * 512
                + ", a loop device over " + file + " from byte 0");
        assertThat(disk).exists();
    }

    /** What a loop device's bytes are, for the reservations of a daemon's files (H25: its log zeroed through one). */
    @Test
    void theFileUnderALoopDeviceOrUnderThePartitionOfOneIsItsBackingFile() throws Exception {
        Path file = Files.write(dir.resolve("kcopyd.log"), new byte[8192]);
        Path loop = device("virtual/block/loop7", "7:7", 16);
        Files.createDirectories(loop.resolve("loop"));
        Files.writeString(loop.resolve("loop/backing_file"), file + "\n");
        Path part = device("virtual/block/loop7/loop7p1", "259:7", 8);
        Files.writeString(part.resolve("partition"), "1\n");
        Path gone = device("virtual/block/loop8", "7:8", 16);
        Files.createDirectories(gone.resolve("loop"));
        Files.writeString(gone.resolve("loop/backing_file"), file + " (deleted)\n");
        device("pci0/block/sde", "8:64", 16);

        assertThat(DeviceBacking.backingFile("7:7", sysDevBlock())).isEqualTo(file);
        assertThat(DeviceBacking.backingFile("259:7", sysDevBlock())).as("a partition of it").isEqualTo(file);
        assertThat(DeviceBacking.backingFile("7:8", sysDevBlock())).as("its file removed").isNull();
        assertThat(DeviceBacking.backingFile("8:64", sysDevBlock())).as("a disk").isNull();
        assertThat(DeviceBacking.backingFile((String) null, sysDevBlock())).as("not a block device").isNull();
    }

    @Test
    void theLoopDevicesOverAFileAndThePartitionsOfADiskAreFoundAboveThem() throws Exception {
        Path file = Files.write(dir.resolve("c.img"), new byte[4096]);
        Path other = Files.write(dir.resolve("d.img"), new byte[4096]);
        String[][] loops = {{"loop4", "7:4", file.toString(), "512"}, {"loop5", "7:5", other.toString(), "0"},
            {"loop6", "7:6", file + " (deleted)", "0"}};
        for (String[] l : loops) {
            Path loop = device("virtual/block/" + l[0], l[1], 8);
            Files.createDirectories(loop.resolve("loop"));
            Files.writeString(loop.resolve("loop/backing_file"), l[2] + "\n");
            Files.writeString(loop.resolve("loop/offset"), l[3] + "\n");
        }
        device("pci0/block/sdc", "8:32", 1 << 20);
        for (String[] p : new String[][] {{"sdc1", "8:33", "2048"}, {"sdc2", "8:34", "4096"}}) {
            Path part = device("pci0/block/sdc/" + p[0], p[1], 1024);
            Files.writeString(part.resolve("partition"), "1\n");
            Files.writeString(part.resolve("start"), p[2] + "\n");
        }

        assertThat(DeviceBacking.stacked(file, FileClaims.identityOf(file), null, sysDevBlock())).containsExactly(
                new DeviceBacking.Stacked(new FileIdentity("blk-" + DeviceBacking.makedev("7:4")), "/dev/loop4",
                        "a loop device over " + file + " from byte 512"));
        assertThat(DeviceBacking.stacked(Path.of("/dev/sdc"), "blk-sdc", "8:32", sysDevBlock()))
                .containsExactlyInAnyOrder(
                        new DeviceBacking.Stacked(new FileIdentity("blk-" + DeviceBacking.makedev("8:33")), "/dev/sdc1",
                                "a partition of /dev/sdc from byte " + 2048L * 512),
                        new DeviceBacking.Stacked(new FileIdentity("blk-" + DeviceBacking.makedev("8:34")), "/dev/sdc2",
                                "a partition of /dev/sdc from byte " + 4096L * 512));
        assertThat(DeviceBacking.stacked(Path.of("/dev/sdc1"), "blk-sdc1", "8:33", sysDevBlock())).isEmpty();
    }

    @Test
    void aDeviceSysfsSaysNothingOfIsItsOwnWindow() throws Exception {
        DeviceBacking.Window w = DeviceBacking.follow(DeviceBacking.makedev("9:9"), "own", sysDevBlock());
        assertThat(w.identity()).isEqualTo("own");
        assertThat(w.offset()).isZero();
        assertThat(w.via()).isEmpty();
    }
}
