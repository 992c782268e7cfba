package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * {@link FileBlockDevice#offloadBeatsPagesTo} (the API's {@link BlockDevice#offloadBeatsPagesTo}):
 * the file system is read by {@code fstatfs} on the file's own descriptor; on this machine's ext4
 * temporary directory and on tmpfs the kernel may copy ({@code canOffloadTo}) but is not advised;
 * the same files seen as XFS (through system calls that report XFS's {@code f_type}) are advised;
 * a file system that cannot be told is not, nor is a device that gives no advice.
 */
class OffloadAdviceTest {

    private static final Path SHM = Path.of("/dev/shm");

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    @Test
    void theFileSystemIsReadFromTheFilesDescriptor() throws IOException {
        Path p = Files.write(dir.resolve("a"), new byte[4096]);
        assumeTrue(FileHoles.system() != null, "no system calls for files here (JNA, Linux)");
        int fd = FileHoles.system().open(p.toString(), false);
        try {
            FileSystemId id = FileHoles.system().fileSystem(fd);
            long expected = Long.parseLong(stat("%t", p), 16);
            assertThat(id.type()).isEqualTo(expected);
        } finally {
            FileHoles.system().close(fd);
        }
    }

    @Test
    void ext4AndTmpfsMayOffloadButAreNotAdvised() throws IOException {
        for (Path d : new Path[] {dir, SHM}) {
            if (!Files.isDirectory(d) || !Files.isWritable(d)) {
                continue;
            }
            Path src = Files.write(Files.createTempFile(d, "advice-src", ".img"), new byte[1 << 16]);
            Path dst = Files.write(Files.createTempFile(d, "advice-dst", ".img"), new byte[1 << 16]);
            try (BlockDevice s = opener.open(src); BlockDevice t = opener.open(dst, DeviceOption.READ_WRITE)) {
                assumeTrue(((FileBlockDevice) s).knowsHoles(), "no system calls for files here (JNA, Linux)");
                String type = stat("%T", src);
                assumeTrue(type.startsWith("ext") || type.equals("tmpfs"), "test directory is on " + type);
                assertThat(s.canOffloadTo(t)).as(type).isTrue();
                assertThat(s.offloadBeatsPagesTo(t)).as(type + ", asked through BlockDevice").isFalse();
            } finally {
                Files.deleteIfExists(src);
                Files.deleteIfExists(dst);
            }
        }
    }

    @Test
    void filesOfOneXfsAreAdvisedAndUnknownOrOtherDevicesAreNot() throws IOException {
        assumeTrue(FileHoles.system() != null, "no system calls for files here (JNA, Linux)");
        Path src = Files.write(dir.resolve("src"), new byte[1 << 16]);
        Path dst = Files.write(dir.resolve("dst"), new byte[1 << 16]);
        try (FileBlockDevice xs = device(src, reporting(new FileSystemId(OffloadPolicy.XFS, 5)));
                FileBlockDevice xd = device(dst, reporting(new FileSystemId(OffloadPolicy.XFS, 5)));
                FileBlockDevice unknown = device(dst, reporting(null));
                MemoryBlockDevice memory = new MemoryBlockDevice("m", 128)) {
            assertThat(xs.offloadBeatsPagesTo(xd)).isTrue();
            assertThat(xs.offloadBeatsPagesTo(unknown)).isFalse();
            assertThat(unknown.offloadBeatsPagesTo(xd)).isFalse();
            assertThat(xs.offloadBeatsPagesTo(memory)).isFalse();
            assertThat(memory.offloadBeatsPagesTo(xd)).as("a device without advice: the API's default").isFalse();
        }
    }

    /** The real system calls, except fstatfs answering {@code id} (null: failing). */
    private static NativeFiles reporting(FileSystemId id) {
        return new ForwardingNativeFiles() {
            @Override
            public FileSystemId fileSystem(int fd) throws IOException {
                if (id == null) {
                    throw new IOException("fstatfs: Function not implemented (ENOSYS)");
                }
                return id;
            }
        };
    }

    private static FileBlockDevice device(Path p, NativeFiles sys) throws IOException {
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new FileBlockDevice(p, ch, null, 512, false, Files.size(p) / 512, FileClaims.identityOf(p), null, sys,
                java.util.Set.of());
    }

    private static String stat(String format, Path p) throws IOException {
        Process stat = new ProcessBuilder("stat", "-f", "--format=" + format, p.toString()).redirectErrorStream(true)
                .start();
        try {
            String out = new String(stat.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .trim();
            assertThat(stat.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
