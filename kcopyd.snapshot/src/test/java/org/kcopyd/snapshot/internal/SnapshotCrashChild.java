package org.kcopyd.snapshot.internal;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import org.kcopyd.api.BlockDevice;


/**
 * Run in a separate JVM by {@link SnapshotCrashTest}: attaches a snapshot to the given origin
 * and writes to the origin at random, 8 writes at a time, forever, printing a line per batch as it is submitted,
 * until it is killed.
 */
public final class SnapshotCrashChild {

    private SnapshotCrashChild() {
    }

    /**
     * @param args origin path, COW path (a store of 16-sector chunks), COW store identity
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        try (SnapshotFixture fixture = new SnapshotFixture()) {
            Origin origin = fixture.origin(fixture.open(Path.of(args[0])));
            BlockDevice cow = fixture.open(Path.of(args[1]));
            CowStore.CowHeader header = CowStore.readHeader(cow);
            String mismatch = header.mismatch(UUID.fromString(args[2]), 16, origin.sizeInSectors());
            if (mismatch != null) {
                throw new IllegalStateException(mismatch);
            }
            origin.attach("crash", CowStore.adopt(cow, header));
            Random r = new Random();
            long size = origin.sizeInSectors();
            for (long batch = 0;; batch++) {
                List<CompletableFuture<Void>> writes = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    int sectors = 1 + r.nextInt(64);
                    long sector = (long) (r.nextDouble() * (size - sectors));
                    byte[] data = new byte[sectors * 512];
                    r.nextBytes(data);
                    writes.add(origin.write(sector, ByteBuffer.wrap(data)).toCompletableFuture());
                }
                // Printed while the writes (and their copies) are in flight: the kill lands mid-copy.
                System.out.println("batch " + batch);
                System.out.flush();
                writes.forEach(CompletableFuture::join);
            }
        }
    }
}
