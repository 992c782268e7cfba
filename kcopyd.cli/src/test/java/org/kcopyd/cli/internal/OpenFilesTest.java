package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
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
