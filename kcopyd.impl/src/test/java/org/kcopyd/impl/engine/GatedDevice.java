package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/** A read-only test source of zeros whose reads complete only once {@link #open()} is called: holds jobs in flight. */
final class GatedDevice extends ForwardingDevice {

    private final CompletableFuture<Void> gate = new CompletableFuture<>();

    GatedDevice(long sectors) {
        super(new MemoryBlockDevice("gated", sectors).readOnlyView());
    }

    void open() {
        gate.complete(null);
    }

    @Override
    public String name() {
        return "gated";
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return gate.thenCompose(open -> inner.read(sector, dst));
    }

    @Override
    public CompletionStage<Void> flush() {
        return gate;
    }
}
