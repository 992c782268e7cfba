package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.cm.ConfigurationAdmin;

/** The commands' parsing, messages and exit codes, on an engine outside OSGi. */
class CommandLineTest {

    @TempDir
    Path dir;

    private final KcopydEngine engine = Kcopyd.start(EngineSettings.defaults());
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @AfterEach
    void close() {
        engine.close();
    }

    /** Only the engine's services; snapshots and mirrors are tested in the runtime. */
    private final Services services = new Services() {
        @Override
        public KcopydClientFactory factory(Duration wait) {
            return engine;
        }

        @Override
        public BlockDeviceOpener devices(Duration wait) {
            return engine.devices();
        }

        @Override
        public Map<String, Object> factoryProperties() {
            return engine.settings().toMap();
        }

        @Override
        public ConfigurationAdmin configurationAdmin() {
            throw new IllegalStateException("no Config Admin outside OSGi");
        }

        @Override
        public List<Snapshot> snapshots() {
            return List.of();
        }

        @Override
        public List<Mirror> mirrors() {
            return List.of();
        }

        @Override
        public Snapshot snapshot(String name, Duration wait) {
            return null;
        }

        @Override
        public Mirror mirror(String name, Duration wait) {
            return null;
        }

        @Override
        public BlockDevice origin(String path, Duration wait) {
            return null;
        }
    };

    private int run(String... args) {
        return Commands.run(new Console(services, new PrintWriter(out, true), new PrintWriter(err, true), false), args);
    }

    private Path image(String name, int bytes, long seed) throws Exception {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    @Test
    void regionSpecsReadPathsSectorsAndCounts() {
        assertThat(RegionSpec.parse("a.img")).isEqualTo(new RegionSpec(Path.of("a.img"), 0, -1));
        assertThat(RegionSpec.parse("a.img:100")).isEqualTo(new RegionSpec(Path.of("a.img"), 100, -1));
        assertThat(RegionSpec.parse("/dev/loop0:8+16")).isEqualTo(new RegionSpec(Path.of("/dev/loop0"), 8, 16));
        assertThat(RegionSpec.parse("odd:name.img")).isEqualTo(new RegionSpec(Path.of("odd:name.img"), 0, -1));
        assertThatThrownBy(() -> RegionSpec.parse("a.img:4+0")).hasMessageContaining("at least 1");
    }

    @Test
    void copyWritesEveryDestinationAndExitsZero() throws Exception {
        Path src = image("src.img", 1 << 20, 1);

        int code = run("copy", src.toString(), dir.resolve("a.img").toString(), dir.resolve("b.img") + ":8");

        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("copied 1.0 MiB").contains("to 2 destinations");
        assertThat(Files.mismatch(src, dir.resolve("a.img"))).isEqualTo(-1);
        assertThat(Files.size(dir.resolve("b.img"))).isEqualTo((1 << 20) + 8 * 512);
    }

    @Test
    void badArgumentsExitTwoWithAPlainMessage() throws Exception {
        Path src = image("src.img", 16 * 512, 2);

        assertThat(run("copy", src.toString())).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src + ":8+100", dir.resolve("x.img").toString())).isEqualTo(Exit.USAGE);
        assertThat(err.toString()).contains("ends past the device end 16").doesNotContain("\tat ");
        assertThat(run("copy", src + ":0+4", dir.resolve("y.img") + ":0+5")).isEqualTo(Exit.USAGE);
        assertThat(err.toString()).contains("has 5 sectors but the source has 4");
    }

    @Test
    void aMissingSourceExitsOneNamingIt() {
        assertThat(run("copy", dir.resolve("none.img").toString(), dir.resolve("x.img").toString()))
                .isEqualTo(Exit.FAILED);
        assertThat(err.toString()).contains("none.img does not exist").doesNotContain("Exception");
    }

    @Test
    void zeroSetsRegionsToZeros() throws Exception {
        Path img = image("img.img", 64 * 512, 3);

        assertThat(run("zero", img + ":8+16", "--json")).isZero();

        byte[] data = Files.readAllBytes(img);
        assertThat(java.util.Arrays.copyOfRange(data, 8 * 512, 24 * 512)).containsOnly(0);
        assertThat(out.toString()).startsWith("{\"result\":\"ok\"");
    }

    @Test
    void configListsTheEffectiveSettings() {
        assertThat(run("config")).isZero();
        assertThat(out.toString()).contains("defaultPages = 2048").contains("subJobKiB = 512");
    }

    @Test
    void progressLinesShowBytesRateAndTimeLeft() {
        assertThat(Progress.line(512L << 20, 1L << 30, 2.0)).contains("50%").contains("512.0 MiB / 1.0 GiB")
                .contains("256.0 MiB/s").contains("0:02 left");
        assertThat(Json.of(Map.of("a", "x\"y"))).isEqualTo("{\"a\":\"x\\\"y\"}");
    }

    @Test
    void everyCommandExplainsItselfWithHelp() {
        for (String command : List.of("copy", "zero", "config", "demo")) {
            assertThat(run(command, "--help")).as(command).isZero();
        }
        assertThat(run("snapshot", "create", "--help")).isZero();
        assertThat(run("mirror", "status", "--help")).isZero();
        assertThat(out.toString()).contains("Usage: kcopyd copy").contains("Exit codes:")
                .contains("Usage: kcopyd snapshot create").contains("Usage: kcopyd mirror status");
    }
}
