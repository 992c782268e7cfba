package org.kcopyd.bench;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/** A read-only device of any size whose content is {@link Pattern}, generated on read: no storage. */
final class PatternSource implements BlockDevice {

    private static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);
    private final long sectors;

    PatternSource(long sectors) {
        this.sectors = sectors;
    }

    @Override
    public String name() {
        return "pattern";
    }

    @Override
    public long sizeInSectors() {
        return sectors;
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        Pattern.fill(dst, sector * SECTOR_SIZE);
        return DONE;
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return CompletableFuture.failedStage(new java.io.IOException("pattern source is read-only"));
    }

    @Override
    public CompletionStage<Void> flush() {
        return DONE;
    }
}
