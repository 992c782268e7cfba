package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.FileBlockDevice;
import org.kcopyd.device.FileDeviceOpener;

/** The channels for the bytes past a file's last whole sector ({@link OpenFiles#channel}). */
class OpenFilesTest {

    @TempDir
    Path dir;

    @Test
    void theTailOfADestinationGoesToTheFileItsDeviceWritesWhateverItsNameNamesNow() throws IOException {
        Path a = dir.resolve("a.img");
        Files.write(a, new byte[1024 + 100]);
        Path other = dir.resolve("other.img");
        Files.write(other, filled(1024 + 100, (byte) 7));
        try (OpenFiles files = new OpenFiles(new FileDeviceOpener(false), false)) {
            Operand dest = Operand.existing(a, "destination");
            BlockDevice device = files.openWrite(dest);
            assumeTrue(((FileBlockDevice) device).reopen(true).map(ch -> close(ch)).isPresent(),
                    "this file device has no descriptor of its own (JNA on Linux)");
            Path moved = dir.resolve("a-moved.img");
            // Another file takes the name; the one the device writes lives on under another name.
            Files.move(a, moved);
            Files.move(other, a, StandardCopyOption.ATOMIC_MOVE);

            FileChannel tail = files.channel(dest, true);
            tail.write(ByteBuffer.wrap(filled(100, (byte) 1)), 1024);

            assertThat(Arrays.copyOfRange(Files.readAllBytes(moved), 1024, 1124)).as("the device's file")
                    .isEqualTo(filled(100, (byte) 1));
            assertThat(Files.readAllBytes(a)).as("the file that took the name, untouched")
                    .isEqualTo(filled(1024 + 100, (byte) 7));
        }
    }

    @Test
    void theTailOfASourceIsReadFromTheFileItsDeviceReads() throws IOException {
        Path s = dir.resolve("s.img");
        Files.write(s, filled(1024 + 10, (byte) 3));
        Path other = dir.resolve("other.img");
        Files.write(other, filled(1024 + 10, (byte) 9));
        try (OpenFiles files = new OpenFiles(new FileDeviceOpener(false), false)) {
            Operand src = Operand.existing(s, "source");
            BlockDevice device = files.openRead(src);
            assumeTrue(((FileBlockDevice) device).reopen(false).map(ch -> close(ch)).isPresent(),
                    "this file device has no descriptor of its own (JNA on Linux)");
            Files.move(other, s, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

            ByteBuffer tail = ByteBuffer.allocate(10);
            files.channel(src, false).read(tail, 1024);

            assertThat(tail.array()).as("the source's own last bytes").isEqualTo(filled(10, (byte) 3));
        }
    }

    @Test
    void aNewDestinationIsNeverAFileRenamedOverItsNameBeforeItWasOpened() throws Exception {
        Path name = dir.resolve("new.img");
        Path victim = dir.resolve("victim.img");
        byte[] kept = filled(8 * 512, (byte) 5);
        Files.write(victim, kept);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread renamer = new Thread(() -> {
            Path tmp = dir.resolve("next.img");
            while (!stop.get()) {
                try {
                    Files.deleteIfExists(tmp);
                    Files.createLink(tmp, victim);
                    Files.move(tmp, name, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    // The test removed a name meanwhile: again.
                }
            }
        }, "renamer");
        int created = 0;
        int refused = 0;
        renamer.start();
        try {
            for (int round = 1; round <= 300; round++) {
                Files.deleteIfExists(name);
                Operand dest;
                try {
                    dest = Operand.destination(name);
                } catch (CommandException e) {
                    continue;
                }
                try (OpenFiles files = new OpenFiles(new FileDeviceOpener(false), false)) {
                    BlockDevice device;
                    try {
                        device = files.create(dest, 64 * 512);
                    } catch (CommandException e) {
                        if (e.getMessage().contains("was replaced by another file while kcopyd created it")) {
                            refused++;
                        }
                        files.removeCreated();
                        continue;
                    }
                    created++;
                    device.write(0, ByteBuffer.wrap(filled(64 * 512, (byte) round))).toCompletableFuture().join();
                }
                assertThat(Files.readAllBytes(victim)).as("round %d: the victim, untouched", round).isEqualTo(kept);
            }
        } finally {
            stop.set(true);
            renamer.join(30_000);
        }
        assertThat(Files.readAllBytes(victim)).isEqualTo(kept);
        assertThat(created + refused).as("rounds that created or were refused for the swap").isGreaterThan(0);
    }

    @Test
    void anExistingDestinationReplacedAfterItWasExaminedIsRefusedAndTheOtherFileUntouched() throws IOException {
        Path a = dir.resolve("a.img");
        Files.write(a, new byte[2048]);
        Path other = dir.resolve("other.img");
        byte[] kept = filled(2048, (byte) 7);
        Files.write(other, kept);
        try (OpenFiles files = new OpenFiles(new FileDeviceOpener(false), false)) {
            // Examined (and checked against the source) first; another file takes the name after.
            Operand dest = Operand.existing(a, "destination");
            Files.move(other, a, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

            assertThatThrownBy(() -> files.openWrite(dest)).isInstanceOfSatisfying(CommandException.class,
                    e -> assertThat(e.exitCode()).isEqualTo(Exit.FAILED))
                    .hasMessage("cannot write " + a + ": it was replaced by another file since kcopyd examined it; "
                            + "nothing was written");
        }
        assertThat(Files.readAllBytes(a)).as("the file that took the name").isEqualTo(kept);
    }

    @Test
    void aSourceReplacedAfterItWasExaminedIsRefused() throws IOException {
        Path s = dir.resolve("s.img");
        Files.write(s, filled(1024, (byte) 3));
        Path other = dir.resolve("other.img");
        Files.write(other, filled(1024, (byte) 9));
        try (OpenFiles files = new OpenFiles(new FileDeviceOpener(false), false)) {
            Operand src = Operand.existing(s, "source");
            Files.move(other, s, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

            assertThatThrownBy(() -> files.openRead(src)).isInstanceOf(CommandException.class)
                    .hasMessageContaining("cannot read " + s + ": it was replaced by another file since kcopyd "
                            + "examined it");
        }
    }

    @Test
    void aFileReadBackIsTheFileWrittenEvenIfItsNameNamesItAgainOnceOpened() throws IOException {
        Path a = dir.resolve("a.img");
        Files.write(a, new byte[4096]);
        Path other = dir.resolve("other.img");
        Files.write(other, filled(4096, (byte) 7));
        Path aside = dir.resolve("aside.img");
        FileDeviceOpener real = new FileDeviceOpener(false);
        // The read-back opening meets the other file under the name; the written one is back at once after.
        BlockDeviceOpener swapping = new BlockDeviceOpener() {
            @Override
            public BlockDevice open(Path path, DeviceOption... options) throws IOException {
                if (!List.of(options).contains(DeviceOption.DIRECT)) {
                    return real.open(path, options);
                }
                Files.move(path, aside, StandardCopyOption.ATOMIC_MOVE);
                Files.move(other, path, StandardCopyOption.ATOMIC_MOVE);
                try {
                    return real.open(path, options);
                } finally {
                    Files.move(path, other, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(aside, path, StandardCopyOption.ATOMIC_MOVE);
                }
            }

            @Override
            public BlockDevice open(java.net.URI uri, DeviceOption... options) throws IOException {
                return real.open(uri, options);
            }

            @Override
            public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
                return real.create(path, sizeInSectors, options);
            }
        };
        try (OpenFiles files = new OpenFiles(swapping, false)) {
            Operand dest = Operand.existing(a, "destination");
            files.openWrite(dest);

            assertThatThrownBy(() -> files.openReadBack(dest)).isInstanceOf(IOException.class)
                    .hasMessage(a + " was replaced by another file while kcopyd used it");
            assertThat(files.notTheFileWritten(dest)).as("the name names the written file again").isNull();
        }
    }

    @Test
    void aWrittenFileRemovedOrReplacedIsToldApartFromOneStillNamed() throws IOException {
        Path a = dir.resolve("a.img");
        Files.write(a, new byte[4096]);
        Path b = dir.resolve("b.img");
        Files.write(b, new byte[4096]);
        Path other = dir.resolve("other.img");
        Files.write(other, new byte[4096]);
        try (OpenFiles files = new OpenFiles(new FileDeviceOpener(false), false)) {
            Operand da = Operand.existing(a, "destination");
            Operand db = Operand.existing(b, "destination");
            files.openWrite(da);
            files.openWrite(db);
            assertThat(files.notTheFileWritten(da)).isNull();

            Files.delete(a);
            Files.move(other, b, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

            assertThat(files.notTheFileWritten(da)).isEqualTo("it was removed while kcopyd used it");
            assertThat(files.notTheFileWritten(db)).isEqualTo("it was replaced by another file while kcopyd used it");
        }
    }

    private static byte[] filled(int n, byte b) {
        byte[] bytes = new byte[n];
        Arrays.fill(bytes, b);
        return bytes;
    }

    private static FileChannel close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return ch;
    }
}
