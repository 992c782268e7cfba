package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;
import org.kcopyd.testdevices.Peers;

/** nbdinfo (libnbd) as a client of our server: what the server advertises, and block status. */
class NbdinfoIT {

    @TempDir
    Path dir;

    private NbdServer server;

    @BeforeEach
    void start() throws Exception {
        Peers.require("nbdinfo", "libnbd-bin");
        server = NbdServer.builder().export("disk", new MemoryBlockDevice("disk", 32 * 2048), false)
            .export("ro", new MemoryBlockDevice("ro", 2048), true)
            .export("k4", new ForwardingDevice(new MemoryBlockDevice("k4", 2048)) {
                @Override
                public int minimumBlockBytes() {
                    return 4096;
                }
            }, false).startUnix(dir.resolve("nbd.sock"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String nbdinfo(String... arguments) throws Exception {
        String[] command = new String[arguments.length + 1];
        command[0] = "nbdinfo";
        System.arraycopy(arguments, 0, command, 1, arguments.length);
        PeerProcess.Result result = PeerProcess.run(dir, Duration.ofSeconds(30), command);
        assertThat(result.exitCode()).as(result.output()).isZero();
        return result.output();
    }

    @Test
    void showsSizeFlagsAndBlockSizes() throws Exception {
        String json = nbdinfo("--json", server.uri("disk").toString());
        assertThat(json).contains("\"protocol\": \"newstyle-fixed\"", "\"structured\": true",
            "\"export-size\": 33554432", "\"is_read_only\": false", "\"can_flush\": true", "\"can_fua\": true",
            "\"can_multi_conn\": true", "\"can_trim\": true", "\"can_zero\": true", "\"can_fast_zero\": true",
            "\"block_size_minimum\": 512", "\"block_size_preferred\": 4096", "\"block_size_maximum\": 33554432",
            "\"base:allocation\"");
    }

    @Test
    void showsTheDevicesMinimumBlockAsTheExports() throws Exception {
        String json = nbdinfo("--json", server.uri("k4").toString());
        assertThat(json).contains("\"block_size_minimum\": 4096", "\"block_size_preferred\": 4096",
            "\"block_size_maximum\": 1048576");
    }

    @Test
    void showsAReadOnlyExportAsSuch() throws Exception {
        String json = nbdinfo("--json", server.uri("ro").toString());
        assertThat(json).contains("\"export-size\": 1048576", "\"is_read_only\": true", "\"can_zero\": false",
            "\"can_trim\": false");
    }

    @Test
    void mapReportsTheWholeExportAsData() throws Exception {
        String map = nbdinfo("--map", server.uri("disk").toString());
        assertThat(map.strip().split("\\s+")).containsExactly("0", "33554432", "0", "data");
    }

    @Test
    void listsBothExports() throws Exception {
        String list = nbdinfo("--list", "--json", server.uri("").toString());
        assertThat(list).contains("\"export-name\": \"disk\"", "\"export-name\": \"ro\"");
    }
}
