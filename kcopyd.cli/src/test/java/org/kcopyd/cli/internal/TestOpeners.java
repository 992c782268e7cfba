package org.kcopyd.cli.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * Openers for the verify and hash tests: the real opener, with chosen paths' devices wrapped when
 * opened read-write or read-only, or O_DIRECT refused as tmpfs before Linux 6.6 refuses it.
 */
final class TestOpeners {

    private TestOpeners() {
    }

    /**
     * @param real      the opener everything goes to
     * @param writable  per path, what wraps its read-write devices
     * @param readOnly  per path, what wraps its read-only devices
     * @param refuseDirect refuse every opening with O_DIRECT, naming EINVAL
     */
    static BlockDeviceOpener wrapping(BlockDeviceOpener real, Map<Path, UnaryOperator<BlockDevice>> writable,
            Map<Path, UnaryOperator<BlockDevice>> readOnly, boolean refuseDirect) {
        return new BlockDeviceOpener() {
            @Override
            public BlockDevice open(Path path, DeviceOption... options) throws IOException {
                List<DeviceOption> opts = List.of(options);
                if (refuseDirect && opts.contains(DeviceOption.DIRECT)) {
                    throw new IOException(path + ": Invalid argument");
                }
                BlockDevice device = real.open(path, options);
                UnaryOperator<BlockDevice> wrap = (opts.contains(DeviceOption.READ_WRITE) ? writable : readOnly)
                        .get(path);
                return wrap == null ? device : wrap.apply(device);
            }

            @Override
            public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
                return real.open(uri, options);
            }

            @Override
            public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
                return real.create(path, sizeInSectors, options);
            }
        };
    }

    /**
     * The real opener, after which another file takes a name: once {@code path} has been opened
     * (its device is the file opened, returned as it is), {@code replacement} is renamed over it,
     * as someone renaming files in the directory while kcopyd works would.
     *
     * @param real        the opener everything goes to
     * @param path        the name taken
     * @param replacement the file renamed over it after the first opening of {@code path}
     */
    static BlockDeviceOpener renamingOverAfterOpen(BlockDeviceOpener real, Path path, Path replacement) {
        return new BlockDeviceOpener() {
            private boolean renamed;

            @Override
            public BlockDevice open(Path p, DeviceOption... options) throws IOException {
                BlockDevice device = real.open(p, options);
                if (p.equals(path) && !renamed) {
                    renamed = true;
                    java.nio.file.Files.move(replacement, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                return device;
            }

            @Override
            public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
                return real.open(uri, options);
            }

            @Override
            public BlockDevice create(Path p, long sizeInSectors, DeviceOption... options) throws IOException {
                return real.create(p, sizeInSectors, options);
            }
        };
    }

    /**
     * A destination that does something once a write covering {@code byteOffset} has completed:
     * {@link #afterCovering} decides what, and the write's stage completes after it.
     */
    abstract static class OnCoveringWrite extends ForwardingDevice {
        protected final long byteOffset;

        OnCoveringWrite(BlockDevice inner, long byteOffset) {
            super(inner);
            this.byteOffset = byteOffset;
        }

        @Override
        public final CompletionStage<Void> write(long sector, ByteBuffer src) {
            long from = sector * SECTOR_SIZE;
            long to = from + src.remaining();
            CompletionStage<Void> written = inner.write(sector, src);
            if (byteOffset < from || byteOffset >= to) {
                return written;
            }
            return afterCovering(written);
        }

        /** @return the stage of the covering write, {@code written}, followed by what this device does */
        abstract CompletionStage<Void> afterCovering(CompletionStage<Void> written);
    }

    /**
     * A destination corrupted behind the engine's back: after the write that covers
     * {@code byteOffset} has completed, that byte is inverted on the device.
     */
    static final class FlipAfterWrite extends OnCoveringWrite {

        FlipAfterWrite(BlockDevice inner, long byteOffset) {
            super(inner, byteOffset);
        }

        @Override
        CompletionStage<Void> afterCovering(CompletionStage<Void> written) {
            return written.thenCompose(ignored -> {
                long at = byteOffset / SECTOR_SIZE;
                ByteBuffer b = ByteBuffer.allocate(SECTOR_SIZE);
                return inner.read(at, b).thenCompose(read -> {
                    int i = (int) (byteOffset % SECTOR_SIZE);
                    b.put(i, (byte) ~b.get(i));
                    return inner.write(at, b.flip());
                });
            });
        }
    }

    /** Something done to a file from a test device's completion, where an {@link IOException} may arise. */
    @FunctionalInterface
    interface FileAction {
        void run() throws IOException;
    }

    /**
     * A destination whose file is taken from under it: once the write that covers
     * {@code byteOffset} has completed, {@code action} runs (once), e.g. removing the file or
     * renaming another over its name, as someone else in the directory might while kcopyd copies.
     */
    static final class AfterWrite extends OnCoveringWrite {
        private final FileAction action;
        private final java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();

        AfterWrite(BlockDevice inner, long byteOffset, FileAction action) {
            super(inner, byteOffset);
            this.action = action;
        }

        @Override
        CompletionStage<Void> afterCovering(CompletionStage<Void> written) {
            return written.thenRun(() -> {
                if (done.compareAndSet(false, true)) {
                    try {
                        action.run();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
        }
    }

    /**
     * A source whose reads complete in reverse order: held until {@code batch} are held or every
     * sector of the region has been read, then completed highest sector first. Failed reads fail
     * at once.
     */
    static final class ReverseReads extends ForwardingDevice {
        private final long sectors;
        private final int batch;
        private long arrived;
        private final java.util.TreeMap<Long, CompletableFuture<Void>> held = new java.util.TreeMap<>();
        /** Reads completed while a read of a lower sector was still held. */
        final AtomicInteger outOfOrder = new AtomicInteger();

        /**
         * @param sectors the region's length: when that many sectors have been read, the held reads complete
         * @param batch   how many reads are held before they complete in reverse
         */
        ReverseReads(BlockDevice inner, long sectors, int batch) {
            super(inner);
            this.sectors = sectors;
            this.batch = batch;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            long count = dst.remaining() / SECTOR_SIZE;
            CompletableFuture<Void> done = new CompletableFuture<>();
            inner.read(sector, dst).whenComplete((v, t) -> {
                if (t != null) {
                    done.completeExceptionally(t);
                    return;
                }
                List<CompletableFuture<Void>> release = new ArrayList<>();
                synchronized (this) {
                    held.put(sector, done);
                    arrived += count;
                    if (held.size() >= batch || arrived >= sectors) {
                        release.addAll(held.descendingMap().values());
                        outOfOrder.addAndGet(held.size() - 1);
                        held.clear();
                    }
                }
                release.forEach(f -> f.complete(null));
            });
            return done;
        }
    }
}
