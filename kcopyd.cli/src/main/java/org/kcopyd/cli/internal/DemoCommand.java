package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code demo}: a tour that needs nothing from the user. It makes a sample image, copies it to
 * three destinations with progress, takes a snapshot of one copy and overwrites that copy through
 * its origin device, merges the snapshot back, builds a two-leg mirror and resyncs it, and
 * verifies every result byte for byte.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Runs a built-in demonstration on sample images it makes itself: a copy to "
        + "three destinations, a snapshot and its merge, a mirror resync; every result is verified.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--dir", description = "Directory for the sample images (default: a new temporary one).")
    Path dir;

    @Option(names = "--size-mib", description = "Size of the sample image in MiB (default 64).")
    int sizeMiB = 64;

    @Option(names = "--keep", description = "Keep the images afterwards.")
    boolean keep;

    private final Console console;

    DemoCommand(Console console) {
        this.console = console;
    }

    private void step(String text) {
        console.out().println("==> " + text);
        console.out().flush();
    }

    @Override
    public Integer call() throws Exception {
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("kcopyd-demo");
        try {
            int result = run(work);
            if (result == Exit.OK && !keep) {
                deleteAll(work);
            } else {
                console.out().println("images kept in " + work);
            }
            return result;
        } catch (IOException | RuntimeException e) {
            console.err().println("kcopyd demo: " + e.getMessage() + " (images kept in " + work + ")");
            return Exit.FAILED;
        }
    }

    private int run(Path work) throws Exception {
        long bytes = (long) sizeMiB << 20;
        Path src = work.resolve("sample.img");
        step("making a " + sizeMiB + " MiB sample image " + src);
        writeRandom(src, bytes, 1);

        step("copying it to three destinations at once");
        CopyCommand copy = new CopyCommand(console);
        copy.source = src.toString();
        copy.destinations = List.of(work.resolve("copy-1.img").toString(), work.resolve("copy-2.img").toString(),
                work.resolve("copy-3.img").toString());
        copy.flush = true;
        if (copy.call() != Exit.OK) {
            return Exit.FAILED;
        }
        for (String d : copy.destinations) {
            require(sameContent(src, Path.of(d)), d + " differs from the sample");
        }
        console.out().println("    verified: the three copies are identical to the sample");

        step("taking a snapshot of copy-1.img, then overwriting copy-1.img through its origin device");
        Path origin = work.resolve("copy-1.img");
        if (run(new SnapshotCommand.Create(console), "demo-snapshot", origin.toString(),
                work.resolve("demo-snapshot.cow").toString()) != Exit.OK) {
            return Exit.FAILED;
        }
        Snapshot snapshot = console.services().snapshot("demo-snapshot", Duration.ofSeconds(10));
        BlockDevice originDevice = console.services().origin(origin.toAbsolutePath().toString(), Duration.ofSeconds(10));
        require(originDevice != null, "the origin device of the snapshot did not appear");
        Random r = new Random(2);
        for (int i = 0; i < 200; i++) {
            byte[] data = new byte[4096];
            r.nextBytes(data);
            long sector = (long) (r.nextDouble() * (originDevice.sizeInSectors() - 8));
            originDevice.write(sector, ByteBuffer.wrap(data)).toCompletableFuture().join();
        }
        require(!sameContent(src, origin), "the origin did not change");
        require(Arrays.equals(readAll(snapshot.device()), Files.readAllBytes(src)),
                "the snapshot does not show the origin as it was");
        console.out().println("    verified: the snapshot still shows the original content ("
                + snapshot.chunksUsed() + " chunks copied on write)");
        run(new SnapshotCommand.Merge(console), "demo-snapshot");
        require(sameContent(src, origin), "after the merge the origin differs from the snapshot");
        console.out().println("    verified: after the merge copy-1.img is the sample again");
        run(new SnapshotCommand.Remove(console), "demo-snapshot");

        step("building a mirror of copy-2.img and a blank leg, and resyncing it");
        Path blank = work.resolve("mirror-leg-1.img");
        try (FileChannel ch = FileChannel.open(blank, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), bytes - 1);
        }
        MirrorCommand.Create mirrorCreate = new MirrorCommand.Create(console);
        mirrorCreate.waitForSync = true;
        mirrorCreate.regionSectors = 2048;
        if (run(mirrorCreate, "demo-mirror", work.resolve("demo-mirror.log").toString(),
                work.resolve("copy-2.img").toString(), blank.toString()) != Exit.OK) {
            return Exit.FAILED;
        }
        Mirror mirror = console.services().mirror("demo-mirror", Duration.ofSeconds(10));
        require(mirror.status().legs().stream().allMatch(l -> l.state() == LegState.IN_SYNC), "a leg is not in sync");
        require(sameContent(src, blank), "the resynced leg differs from the sample");
        console.out().println("    verified: both legs hold the sample");
        run(new MirrorCommand.Remove(console), "demo-mirror");

        step("demo complete: every result verified");
        return Exit.OK;
    }

    private static int run(Callable<Integer> command, String... args) throws Exception {
        picocli.CommandLine line = new picocli.CommandLine(command);
        line.parseArgs(args);
        return command.call();
    }

    private static void require(boolean condition, String failure) {
        if (!condition) {
            throw new IllegalStateException("verification failed: " + failure);
        }
    }

    static void writeRandom(Path file, long bytes, long seed) throws IOException {
        Random r = new Random(seed);
        byte[] block = new byte[1 << 20];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long pos = 0; pos < bytes; pos += block.length) {
                r.nextBytes(block);
                ByteBuffer b = ByteBuffer.wrap(block, 0, (int) Math.min(block.length, bytes - pos));
                while (b.hasRemaining()) {
                    ch.write(b, pos + b.position());
                }
            }
        }
    }

    static boolean sameContent(Path a, Path b) throws IOException {
        return Files.mismatch(a, b) == -1;
    }

    private static byte[] readAll(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate((int) device.sizeInSectors() * 512);
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    private static void deleteAll(Path work) throws IOException {
        try (var files = Files.list(work)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(work);
    }
}
