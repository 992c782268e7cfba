package org.kcopyd.cli.internal;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
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
import java.util.concurrent.atomic.AtomicBoolean;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.FileErrors;
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
 *
 * <p>It works only inside a new directory of its own ({@link DemoDirectory}) in the one the user
 * names, creates every file with {@code CREATE_NEW} (nothing existing is overwritten), and at the
 * end, unless {@code --keep}, deletes exactly the files it made and then that directory; what it
 * keeps or leaves, it names.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
            "Runs a built-in demonstration on sample images it makes itself: a copy to three destinations, a "
                + "snapshot and its merge, a mirror resync; every result is verified.",
            "It works only in a new directory kcopyd-demo-* of its own and, unless --keep, removes exactly the files "
                + "it made and that directory at the end; nothing else is touched."})
final class DemoCommand implements Callable<Integer> {

    /** The largest sample: the demo compares whole images in memory. */
    static final int MAX_SIZE_MIB = 256;

    @Option(names = "--dir", paramLabel = "DIR", description = "Directory in which the demo makes a new directory "
            + "kcopyd-demo-* of its own for the sample images (default: the system's temporary directory). Nothing "
            + "else in DIR is touched; DIR is created if its parent exists.")
    Path dir;

    @Option(names = "--size-mib", description = "Size of the sample image in MiB, 1..256 (default 64).")
    int sizeMiB = 64;

    @Option(names = "--keep", description = "Keep the images afterwards (the demo says where).")
    boolean keep;

    /** Where the clean-up on Ctrl-C or SIGTERM is hooked in; tests run the hook themselves. */
    ShutdownHooks hooks = ShutdownHooks.RUNTIME;

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
        if (sizeMiB < 1 || sizeMiB > MAX_SIZE_MIB) {
            console.err().println("kcopyd demo: --size-mib " + sizeMiB + " is outside 1.." + MAX_SIZE_MIB);
            return Exit.USAGE;
        }
        Path parent;
        boolean madeParent = false;
        if (dir == null) {
            parent = Path.of(System.getProperty("java.io.tmpdir"));
        } else {
            parent = dir.toAbsolutePath();
            Path existing = Files.exists(parent) ? parent : parent.getParent();
            String notForData = existing == null || !Files.isDirectory(existing) ? null
                    : FileDeviceOpener.notForData(existing);
            if (notForData != null) {
                // H48-3: the demo's 64 MiB sample was made in /dev's devtmpfs before the copy refused it.
                console.err().println("kcopyd demo: --dir " + dir + " is in " + existing + ", " + notForData
                        + ": the demo makes no file there; nothing was created");
                return Exit.USAGE;
            }
            if (!Files.exists(parent)) {
                Path above = parent.getParent();
                if (above == null || !Files.isDirectory(above)) {
                    console.err().println("kcopyd demo: --dir " + dir + ": no such directory "
                            + (above == null ? parent : above));
                    return Exit.USAGE;
                }
                try {
                    Files.createDirectory(parent);
                    madeParent = true;
                } catch (IOException e) {
                    console.err().println("kcopyd demo: " + FileErrors.describe(e, "create --dir " + dir));
                    return Exit.FAILED;
                }
            } else if (!Files.isDirectory(parent)) {
                console.err().println("kcopyd demo: --dir " + dir + " is not a directory");
                return Exit.USAGE;
            }
        }
        DemoDirectory work;
        try {
            work = DemoDirectory.createIn(parent);
        } catch (IOException e) {
            console.err().println("kcopyd demo: " + FileErrors.describe(e, "create a directory in " + parent));
            return Exit.FAILED;
        }
        Path made = madeParent ? parent : null;
        AtomicBoolean over = new AtomicBoolean();
        Thread hook = new Thread(() -> {
            if (over.compareAndSet(false, true)) {
                console.err().println("kcopyd demo: interrupted; " + (keep ? kept(work) : cleanUp(work, made)));
                console.err().flush();
            }
        }, "kcopyd-demo-interrupted");
        hooks.add(hook);
        try {
            int result;
            try {
                result = run(work);
            } catch (IOException | RuntimeException e) {
                if (over.compareAndSet(false, true)) {
                    console.err().println("kcopyd demo: " + Console.printable(FileErrors.reason(e)) + "; "
                            + kept(work));
                }
                return Exit.FAILED;
            }
            if (over.compareAndSet(false, true)) {
                console.out().println(result == Exit.OK && !keep ? cleanUp(work, made) : kept(work));
            }
            return result;
        } finally {
            hooks.remove(hook);
        }
    }

    /** @return what was kept, in words */
    private static String kept(DemoDirectory work) {
        List<String> files = work.made();
        return files.isEmpty() ? "the demo's directory " + work + " is kept (empty)"
                : "images kept in " + work + ": " + String.join(", ", files);
    }

    /**
     * Removes the demo's files and directory (and {@code --dir} if the demo made it and it is empty).
     *
     * @return what happened, in words
     */
    private static String cleanUp(DemoDirectory work, Path madeParent) {
        try {
            if (!work.remove()) {
                return "removed the demo's files but left " + work + ": it holds files the demo did not make ("
                        + String.join(", ", work.others()) + ")";
            }
        } catch (IOException e) {
            return "could not remove all of the demo's files in " + work + ": " + FileErrors.reason(e);
        }
        if (madeParent != null) {
            try {
                Files.deleteIfExists(madeParent);
            } catch (IOException e) {
                // Something else appeared in the directory the demo made for --dir: it stays, and is not the demo's.
                return "removed the demo's files and " + work + " (left " + madeParent + ", which now holds other files)";
            }
        }
        return "removed the demo's files and " + work;
    }

    private int run(DemoDirectory work) throws Exception {
        long bytes = (long) sizeMiB << 20;
        Path src = work.file("sample.img");
        step("making a " + sizeMiB + " MiB sample image " + src);
        writeRandom(src, bytes, 1);

        step("copying it to three destinations at once");
        CopyCommand copy = new CopyCommand(console);
        copy.source = src.toString();
        copy.destinations = List.of(work.file("copy-1.img").toString(), work.file("copy-2.img").toString(),
                work.file("copy-3.img").toString());
        copy.flush = true;
        if (copy.call() != Exit.OK) {
            return Exit.FAILED;
        }
        for (String d : copy.destinations) {
            require(sameContent(src, Path.of(d)), d + " differs from the sample");
        }
        console.out().println("    verified: the three copies are identical to the sample");

        step("taking a snapshot of copy-1.img, then overwriting copy-1.img through its origin device");
        Path origin = work.file("copy-1.img");
        if (run(new SnapshotCommand.Create(console), "demo-snapshot", origin.toString(),
                work.file("demo-snapshot.cow").toString()) != Exit.OK) {
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
        // The merge removes the snapshot when it completes; quiet: its words on keeping the COW store are not for a
        // file the demo deletes at its end.
        long chunks = snapshot.chunksUsed();
        if (run(new SnapshotCommand.Merge(quiet()), "demo-snapshot") != Exit.OK) {
            return Exit.FAILED;
        }
        require(sameContent(src, origin), "after the merge the origin differs from the snapshot");
        require(console.services().control().snapshots().stream().noneMatch(v -> v.name().equals("demo-snapshot")),
                "the merged snapshot is still configured");
        console.out().println("    verified: after the merge copy-1.img is the sample again (" + chunks + " chunks "
                + "merged back, the snapshot removed)");

        step("building a mirror of copy-2.img and a blank leg, and resyncing it");
        Path blank = work.file("mirror-leg-1.img");
        try (FileChannel ch = FileChannel.open(blank, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), bytes - 1);
        }
        MirrorCommand.Create mirrorCreate = new MirrorCommand.Create(console);
        mirrorCreate.waitForSync = true;
        mirrorCreate.regionSectors = 2048;
        if (run(mirrorCreate, "demo-mirror", work.file("demo-mirror.log").toString(),
                work.file("copy-2.img").toString(), blank.toString()) != Exit.OK) {
            return Exit.FAILED;
        }
        Mirror mirror = console.services().mirror("demo-mirror", Duration.ofSeconds(10));
        require(mirror.status().legs().stream().allMatch(l -> l.state() == LegState.IN_SYNC), "a leg is not in sync");
        require(sameContent(src, blank), "the resynced leg differs from the sample");
        console.out().println("    verified: both legs hold the sample");
        run(new MirrorCommand.Remove(quiet()), "demo-mirror");

        step("demo complete: every result verified");
        return Exit.OK;
    }

    /**
     * The console for merging the demo's snapshot and removing its mirror: their advice on reusing the COW
     * store and region log is not for files the demo deletes at its end.
     */
    private Console quiet() {
        return new Console(console.services(), new PrintWriter(Writer.nullWriter()), console.err(), false,
                console.oneShot());
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
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
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
}
