package org.kcopyd.nbd;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * Run by {@link TlsKeyUpdateTest} in a JVM of its own whose {@code jdk.tls.keyLimits} makes both
 * sides renew their keys every few hundred KiB: writes and reads 8 MiB over TLS three times,
 * byte-exact, and prints {@code OK}. Arguments: the certificates root, the socket.
 */
final class KeyUpdateMain {

    private KeyUpdateMain() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        int size = 8 << 20;
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", size / 512);
        try (NbdServer server = NbdServer.builder().export("", memory, false).tls(root.resolve("server"))
                .startUnix(Path.of(args[1]));
             BlockDevice client = NbdClient.connect(server.uri("").withTls(root.resolve("trust")))) {
            for (int round = 0; round < 3; round++) {
                byte[] bytes = TestDevices.random(round, size);
                client.write(0, ByteBuffer.wrap(bytes)).toCompletableFuture().get(60, TimeUnit.SECONDS);
                ByteBuffer back = ByteBuffer.allocate(size);
                client.read(0, back).toCompletableFuture().get(60, TimeUnit.SECONDS);
                if (!Arrays.equals(back.array(), bytes)) {
                    throw new AssertionError("round " + round + ": the data read back differs");
                }
            }
        }
        System.out.println("OK");
    }
}
