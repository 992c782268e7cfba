package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/**
 * The stand-in for a leg that the region log records {@link org.kcopyd.mirror.LegState#FAILED} and
 * that was not opened when the mirror opened (H42 #5): an export that is not connected to at all
 * (its server may be down for good, or silent), a file or device service that is gone. A failed
 * leg is neither read nor written by the mirror, so the mirror opens without it, degraded, as
 * dm-raid1 does, rather than wait for it; the stand-in carries the identity and size the log
 * recorded, so the log adopts it as that failed leg. Every I/O fails, saying why: nothing reaches
 * it. Replacing the leg (another path or URI) brings a real device back. Stateless; thread-safe.
 */
final class AbsentLeg implements BlockDevice {

    private final String name;
    private final long sectors;
    private final String why;

    /**
     * @param name    the leg as configured
     * @param sectors the size the log records for it
     * @param why     why it is not open, completing "leg N PATH ..."
     */
    AbsentLeg(String name, long sectors, String why) {
        this.name = name;
        this.sectors = sectors;
        this.why = why;
    }

    /** @return why the leg is not open, for its status */
    String why() {
        return why;
    }

    @Override
    public String name() {
        return name;
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
        return absent();
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return absent();
    }

    @Override
    public CompletionStage<Void> flush() {
        return absent();
    }

    private CompletionStage<Void> absent() {
        return CompletableFuture.failedFuture(new IOException(name + " " + why));
    }
}
