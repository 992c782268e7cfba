package org.kcopyd.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What plain file I/O does without the engine, in the same run as the engine: the floor a
 * scenario's target is measured against. {@link #copy} copies a file into a new one with one
 * positional read and write per chunk on several threads (what the engine does, with nothing
 * around it); {@link #readBack} reads a source and a destination back chunk by chunk on several
 * threads, the destination with O_DIRECT where the file system takes it, and compares them (what
 * {@code copy --verify} does). Both return seconds; buffers are direct, one pair per thread.
 */
final class NoEngineFloor {

    /** Bytes per read and write. */
    static final int CHUNK = 1 << 20;
    /** The read-back's chunk: {@code RegionVerifier}'s, whose two buffers fit a 512 KiB L2 cache. */
    static final int READ_BACK_CHUNK = 1 << 18;

    private NoEngineFloor() {
    }

    /** @return seconds to copy {@code src} to the new file {@code dst} on {@code threads} threads */
    static double copy(Path src, Path dst, int threads) throws IOException, InterruptedException {
        long start = System.nanoTime();
        try (FileChannel in = FileChannel.open(src);
                FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            long size = in.size();
            run(threads, CHUNK, size, (buffers, at, n) -> {
                ByteBuffer b = buffers[0].clear().limit(n);
                fill(in, b, at);
                b.flip();
                while (b.hasRemaining()) {
                    out.write(b, at + b.position());
                }
            });
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /**
     * @return seconds to read {@code src} and {@code dst} back and compare them on {@code threads}
     *         threads
     * @throws IOException if they differ or cannot be read
     */
    static double readBack(Path src, Path dst, int threads) throws IOException, InterruptedException {
        long start = System.nanoTime();
        FileChannel back;
        try {
            back = FileChannel.open(dst, StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            back = FileChannel.open(dst);
        }
        try (FileChannel in = FileChannel.open(src); FileChannel d = back) {
            long size = in.size();
            run(threads, READ_BACK_CHUNK, size, (buffers, at, n) -> {
                ByteBuffer a = buffers[0].clear().limit(n);
                ByteBuffer b = buffers[1].clear().limit(n);
                fill(in, a, at);
                fill(d, b, at);
                if (a.flip().mismatch(b.flip()) >= 0) {
                    throw new IOException(dst + " differs from " + src + " in the chunk at byte " + at);
                }
            });
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** One chunk's work: {@code n} bytes at byte {@code at}, with the thread's two page-aligned buffers. */
    private interface Chunk {
        void run(ByteBuffer[] buffers, long at, int n) throws IOException;
    }

    private static void run(int threads, int chunk, long size, Chunk work) throws IOException, InterruptedException {
        AtomicLong next = new AtomicLong();
        AtomicReference<IOException> failure = new AtomicReference<>();
        List<Thread> started = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> {
                ByteBuffer[] buffers = {aligned(chunk), aligned(chunk)};
                long at;
                while (failure.get() == null && (at = next.getAndAdd(chunk)) < size) {
                    try {
                        work.run(buffers, at, (int) Math.min(chunk, size - at));
                    } catch (IOException e) {
                        failure.compareAndSet(null, e);
                    }
                }
            }, "floor-" + i);
            started.add(t);
            t.start();
        }
        for (Thread t : started) {
            t.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    private static void fill(FileChannel ch, ByteBuffer b, long at) throws IOException {
        long pos = at;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new IOException("end of file at byte " + pos);
            }
            pos += n;
        }
    }

    private static ByteBuffer aligned(int bytes) {
        return ByteBuffer.allocateDirect(bytes + 4096).alignedSlice(4096).limit(bytes);
    }
}
