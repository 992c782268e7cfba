package org.kcopyd.nbd;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/** Devices and data for the NBD tests. */
final class TestDevices {

    private TestDevices() {
    }

    /** @return {@code size} bytes of seeded random data */
    static byte[] random(long seed, int size) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Counts flushes; supports neither write-zeroes nor discard (ForwardingDevice's defaults). */
    static final class Counting extends ForwardingDevice {
        final AtomicInteger flushes = new AtomicInteger();
        final AtomicInteger writes = new AtomicInteger();

        Counting(BlockDevice inner) {
            super(inner);
        }

        @Override
        public CompletionStage<Void> flush() {
            flushes.incrementAndGet();
            return super.flush();
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            writes.incrementAndGet();
            return super.write(sector, src);
        }
    }

    /** Holds every read until released, then completes them in reverse order of arrival. */
    static final class Holding extends ForwardingDevice {
        private final List<Runnable> held = new ArrayList<>();

        Holding(BlockDevice inner) {
            super(inner);
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            synchronized (held) {
                held.add(() -> inner.read(sector, dst).whenComplete((ok, e) -> {
                    if (e != null) {
                        done.completeExceptionally(e);
                    } else {
                        done.complete(null);
                    }
                }));
            }
            return done;
        }

        int heldCount() {
            synchronized (held) {
                return held.size();
            }
        }

        void releaseInReverse() {
            List<Runnable> all;
            synchronized (held) {
                all = new ArrayList<>(held);
                held.clear();
            }
            for (int i = all.size() - 1; i >= 0; i--) {
                all.get(i).run();
            }
        }
    }
}
