package org.kcopyd.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.kcopyd.api.BlockDevice;

/** Helpers for tests that run peers against our server. */
final class OurServer {

    private OurServer() {
    }

    /** @return the device's whole content */
    static byte[] contentOf(BlockDevice device) throws Exception {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(device.sizeInSectors() * BlockDevice.SECTOR_SIZE));
        device.read(0, all).toCompletableFuture().get();
        return all.array();
    }

    /** Fills the device with the bytes given, from sector 0. */
    static void fill(BlockDevice device, byte[] bytes) throws Exception {
        device.write(0, ByteBuffer.wrap(bytes)).toCompletableFuture().get();
    }

    /** @return a server exporting {@code device} as "disk" (read-write) on {@code socket} */
    static NbdServer serve(Path socket, BlockDevice device) throws IOException {
        return NbdServer.builder().export("disk", device, false).startUnix(socket);
    }
}
