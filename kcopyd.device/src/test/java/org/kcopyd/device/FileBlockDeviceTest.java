package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.IoRegion;

class FileBlockDeviceTest {

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void opensAnExistingFileReadOnlyBySizeInWholeSectors() throws IOException {
        Path file = dir.resolve("a.img");
        byte[] data = random(10 * 512 + 100, 1);
        Files.write(file, data);
        try (BlockDevice dev = opener.open(file)) {
            assertThat(dev.sizeInSectors()).isEqualTo(10);
            assertThat(dev.isReadOnly()).isTrue();
            ByteBuffer buf = ByteBuffer.allocate(1024);
            dev.read(2, buf).toCompletableFuture().join();
            assertThat(buf.array()).isEqualTo(java.util.Arrays.copyOfRange(data, 1024, 2048));
            assertThatThrownBy(() -> dev.write(0, ByteBuffer.allocate(512)).toCompletableFuture().join())
                    .isInstanceOf(CompletionException.class).hasMessageContaining("is read-only");
        }
    }

    @Test
    void sizeInBytesIsTheOpenedFilesLengthWhateverItsNameNamesNow() throws IOException {
        Path file = dir.resolve("sized.img");
        Files.write(file, random(10 * 512 + 100, 6));
        Path written = dir.resolve("written.img");
        Files.write(written, new byte[2 * 512 + 7]);
        Path other = dir.resolve("other.img");
        Files.write(other, new byte[3]);
        try (FileBlockDevice dev = (FileBlockDevice) opener.open(file);
                FileBlockDevice rw = (FileBlockDevice) opener.open(written, DeviceOption.READ_WRITE)) {
            assertThat(dev.sizeInBytes()).as("the tail past the last whole sector counts").isEqualTo(10 * 512 + 100);
            assertThat(rw.sizeInBytes()).isEqualTo(2 * 512 + 7);

            Files.move(other, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);

            assertThat(Files.size(file)).as("what the name names now").isEqualTo(3);
            assertThat(dev.sizeInBytes()).as("the opened file's length, not the name's").isEqualTo(10 * 512 + 100);
            Files.write(written, new byte[100], java.nio.file.StandardOpenOption.APPEND);
            assertThat(rw.sizeInBytes()).as("read when asked, not at open").isEqualTo(2 * 512 + 107);
        }
    }

    @Test
    void createMakesAFileOfExactlyTheSizeAndWritesLand() throws IOException {
        Path file = dir.resolve("new.img");
        try (BlockDevice dev = opener.create(file, 64)) {
            assertThat(Files.size(file)).isEqualTo(64 * 512);
            assertThat(dev.isReadOnly()).isFalse();
            dev.write(8, ByteBuffer.wrap(random(512, 2))).toCompletableFuture().join();
            dev.flush().toCompletableFuture().join();
        }
        assertThat(java.util.Arrays.copyOfRange(Files.readAllBytes(file), 8 * 512, 9 * 512)).isEqualTo(random(512, 2));
        assertThatThrownBy(() -> opener.create(file, 0)).hasMessageContaining("size 0 sectors for")
                .hasMessageContaining("outside 1..");
    }

    @Test
    void directIoServesAlignedAndUnalignedRequests() throws IOException {
        Path file = dir.resolve("direct.img");
        Files.write(file, random(1 << 20, 3));
        try (BlockDevice dev = opener.open(file, DeviceOption.READ_WRITE, DeviceOption.DIRECT)) {
            assertThat(((FileBlockDevice) dev).isDirect()).isTrue();
            ByteBuffer aligned = ByteBuffer.allocateDirect(3 * 4096 + 4096).alignedSlice(4096);
            aligned.limit(8192);
            dev.read(8, aligned).toCompletableFuture().join();
            byte[] expected = java.util.Arrays.copyOfRange(random(1 << 20, 3), 4096, 4096 + 8192);
            byte[] got = new byte[8192];
            aligned.flip().get(got);
            assertThat(got).isEqualTo(expected);

            ByteBuffer odd = ByteBuffer.wrap(random(512, 4));
            dev.write(3, odd).toCompletableFuture().join();
            ByteBuffer back = ByteBuffer.allocate(512);
            dev.read(3, back).toCompletableFuture().join();
            assertThat(back.array()).isEqualTo(random(512, 4));
        }
    }

    @Test
    void twoOpensOfOneFileAreTheSameDeviceSoOverlapsAreSeen() throws IOException {
        Path file = dir.resolve("same.img");
        Files.write(file, new byte[4096]);
        try (BlockDevice a = opener.open(file); BlockDevice b = opener.open(file, DeviceOption.READ_WRITE)) {
            assertThat(a).isEqualTo(b);
            assertThat(IoRegion.of(a, 0, 4).overlaps(IoRegion.of(b, 2, 4))).isTrue();
        }
    }

    @Test
    void directoriesAreRefusedAsDirectories() {
        assertThatThrownBy(() -> opener.open(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("is a directory, not a file or block device");
    }

    @Test
    void memoryDeviceIsSparseAndZeroes() {
        MemoryBlockDevice dev = new MemoryBlockDevice("m", 8192);
        dev.write(100, ByteBuffer.wrap(random(4096, 5))).toCompletableFuture().join();
        dev.writeZeroes(101, 2).toCompletableFuture().join();
        ByteBuffer back = ByteBuffer.allocate(4096);
        dev.read(100, back).toCompletableFuture().join();
        byte[] expected = random(4096, 5);
        java.util.Arrays.fill(expected, 512, 1536, (byte) 0);
        assertThat(back.array()).isEqualTo(expected);
        assertThat(dev.readOnlyView().isReadOnly()).isTrue();
        assertThatThrownBy(() -> dev.read(8190, ByteBuffer.allocate(4096)).toCompletableFuture().join())
                .hasMessageContaining("is outside device 'm' of 8192 sectors");
    }

    @Test
    void theClaimIsHeldUntilTheDevicesDescriptorsAreClosed() throws IOException {
        // Released before them, another process could claim the file while a write of this device still lands.
        Path file = dir.resolve("claimed.img");
        Files.write(file, new byte[8 * 512]);
        List<Boolean> claimedAtClose = new ArrayList<>();
        NativeFiles sys = new ForwardingNativeFiles() {
            @Override
            public void close(int fd) {
                try {
                    claimedAtClose.add(FileClaims.holderOf(file).isPresent());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                super.close(fd);
            }
        };
        FileClaim claim = FileClaims.claim(file, "a test");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileBlockDevice device = new FileBlockDevice(file, channel, null, 512, false, 8, FileClaims.identityOf(file),
                claim, sys, Set.of());
        device.close();
        assertThat(claimedAtClose).as("claimed when each of the device's descriptors closed").isNotEmpty()
                .containsOnly(true);
        assertThat(channel.isOpen()).isFalse();
        assertThat(FileClaims.holderOf(file)).isEmpty();
    }
}
