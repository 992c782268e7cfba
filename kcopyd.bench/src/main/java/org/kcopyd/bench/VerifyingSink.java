package org.kcopyd.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;

import org.kcopyd.api.BlockDevice;

/** A write-only device that keeps nothing: it checks every write against {@link Pattern} and counts bytes. */
final class VerifyingSink implements BlockDevice {

    private static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);
    private final long sectors;
    final LongAdder bytes = new LongAdder();
    final LongAdder mismatches = new LongAdder();

    VerifyingSink(long sectors) {
        this.sectors = sectors;
    }

    @Override
    public String name() {
        return "sink";
    }

    @Override
    public long sizeInSectors() {
        return sectors;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return CompletableFuture.failedStage(new IOException("sink keeps no data"));
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        int n = src.remaining();
        if (!Pattern.matches(src, sector * SECTOR_SIZE)) {
            mismatches.increment();
        }
        src.position(src.limit());
        bytes.add(n);
        return DONE;
    }

    @Override
    public CompletionStage<Void> flush() {
        return DONE;
    }
}
