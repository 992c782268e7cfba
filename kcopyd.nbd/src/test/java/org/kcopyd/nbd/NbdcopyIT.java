package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;
import org.kcopyd.testdevices.Peers;

/** nbdcopy (libnbd) copying to and from our server, byte-exact, over one and four connections. */
class NbdcopyIT {

    private static final int SIZE = 32 << 20;

    @TempDir
    Path dir;

    private NbdServer server;

    @BeforeEach
    void requireNbdcopy() {
        Peers.require("nbdcopy", "libnbd-bin");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private void nbdcopy(String... arguments) throws Exception {
        String[] command = new String[arguments.length + 1];
        command[0] = "nbdcopy";
        System.arraycopy(arguments, 0, command, 1, arguments.length);
        PeerProcess.Result result = PeerProcess.run(dir, Duration.ofSeconds(60), command);
        assertThat(result.exitCode()).as(String.join(" ", command) + ": " + result.output()).isZero();
    }

    @ParameterizedTest(name = "connections={0}")
    @ValueSource(ints = {1, 4})
    void fromOurServerToAFile(int connections) throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SIZE / 512);
        byte[] data = TestDevices.random(21, SIZE);
        OurServer.fill(memory, data);
        server = OurServer.serve(dir.resolve("nbd.sock"), memory);
        Path out = dir.resolve("out.img");
        nbdcopy("--connections", String.valueOf(connections), server.uri("disk").toString(), out.toString());
        assertThat(Arrays.mismatch(Files.readAllBytes(out), data)).as("first differing byte").isEqualTo(-1);
    }

    @ParameterizedTest(name = "connections={0}")
    @ValueSource(ints = {1, 4})
    void fromAFileToOurServer(int connections) throws Exception {
        Path in = dir.resolve("in.img");
        byte[] data = TestDevices.random(22, SIZE);
        Files.write(in, data);
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SIZE / 512);
        server = OurServer.serve(dir.resolve("nbd.sock"), memory);
        nbdcopy("--connections", String.valueOf(connections), in.toString(), server.uri("disk").toString());
        assertThat(Arrays.mismatch(OurServer.contentOf(memory), data)).as("first differing byte").isEqualTo(-1);
    }

    @ParameterizedTest(name = "connections={0}")
    @ValueSource(ints = {1, 4})
    void aSparseFileToADeviceThatCannotZero(int connections) throws Exception {
        Path in = dir.resolve("sparse.img");
        byte[] data = TestDevices.random(23, 1 << 20);
        try (RandomAccessFile file = new RandomAccessFile(in.toFile(), "rw")) {
            file.setLength(SIZE);
            file.seek(8 << 20);
            file.write(data);
        }
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SIZE / 512);
        OurServer.fill(memory, TestDevices.random(24, SIZE));
        BlockDevice noZeroes = new ForwardingDevice(memory);
        server = OurServer.serve(dir.resolve("nbd.sock"), noZeroes);
        nbdcopy("--connections", String.valueOf(connections), in.toString(), server.uri("disk").toString());
        assertThat(Arrays.mismatch(OurServer.contentOf(memory), Files.readAllBytes(in))).as("first differing byte")
            .isEqualTo(-1);
    }

    @ParameterizedTest(name = "connections={0}")
    @ValueSource(ints = {1, 4})
    void toNull(int connections) throws Exception {
        server = OurServer.serve(dir.resolve("nbd.sock"), new MemoryBlockDevice("m", SIZE / 512));
        nbdcopy("--connections", String.valueOf(connections), server.uri("disk").toString(), "null:");
    }
}
