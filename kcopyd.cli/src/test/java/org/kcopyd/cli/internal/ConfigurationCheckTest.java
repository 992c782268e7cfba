package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The start-up check of a configuration directory: everything in effect, or one line per file
 * saying why not, at once (no waiting for a timeout when the reason is known).
 */
class ConfigurationCheckTest {

    @TempDir
    Path dir;

    private final FakeRuntime runtime = new FakeRuntime();
    private final ComponentDescriptionDTO snapshots = FakeRuntime.description("org.kcopyd.snapshot",
            "org.kcopyd.snapshot");

    /** A file in the directory, and the configuration FileInstall made of it. */
    private Path file(String name, String pid, String factoryPid, Object... pairs) throws Exception {
        Path f = Files.writeString(dir.resolve(name), "# as read by FileInstall\n");
        if (pid != null) {
            Map<String, Object> p = new java.util.HashMap<>();
            p.put("felix.fileinstall.filename", f.toUri().toString());
            for (int i = 0; i < pairs.length; i += 2) {
                p.put((String) pairs[i], pairs[i + 1]);
            }
            runtime.addConfiguration(pid, factoryPid, p);
        }
        return f;
    }

    private List<ConfigurationCheck.Problem> check() throws Exception {
        return ConfigurationCheck.check(runtime, dir, Duration.ofMillis(300));
    }

    @Test
    void everythingInEffectIsNoProblem() throws Exception {
        runtime.descriptions.add(snapshots);
        runtime.factoryProperties.put(ConfigurationCheck.STATE, "applied");
        file("org.kcopyd.engine.cfg", "org.kcopyd.engine", null, "defaultPages", "512");
        file("org.kcopyd.snapshot-s1.cfg", "org.kcopyd.snapshot~s1", "org.kcopyd.snapshot", "name", "s1");
        Files.writeString(dir.resolve("planted.jar"), "not read: only .cfg and .config files are");
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.ACTIVE, null);

        assertThat(check()).isEmpty();
    }

    @Test
    void aRefusedEngineConfigurationIsReportedWithTheEnginesReason() throws Exception {
        runtime.factoryProperties.put(ConfigurationCheck.STATE, "refused");
        runtime.factoryProperties.put(ConfigurationCheck.REFUSED, "defaultPages 0 is outside the allowed range "
                + "1..262144");
        Path f = file("org.kcopyd.engine.cfg", "org.kcopyd.engine", null, "defaultPages", "0");

        List<ConfigurationCheck.Problem> problems = check();

        assertThat(problems).containsExactly(new ConfigurationCheck.Problem(Exit.USAGE,
                f + " was refused: defaultPages 0 is outside the allowed range 1..262144"));
        assertThat(ConfigurationCheck.exitCode(problems)).isEqualTo(Exit.USAGE);
    }

    @Test
    void controlCharactersOfAGarbageFileDoNotReachTheTerminal() throws Exception {
        runtime.factoryProperties.put(ConfigurationCheck.STATE, "refused");
        runtime.factoryProperties.put(ConfigurationCheck.REFUSED, "unknown setting '\u001b[2J\u0007x'; known: []");
        file("org.kcopyd.engine.cfg", "org.kcopyd.engine", null, "\u001b[2J\u0007x", "1");

        assertThat(check().get(0).message()).endsWith("unknown setting '?[2J?x'; known: []");
    }

    @Test
    void aFileThatGaveNoConfigurationIsReported() throws Exception {
        runtime.factoryProperties.put(ConfigurationCheck.STATE, "defaults");
        Path f = file("org.kcopyd.engine.config", null, null);

        assertThat(check()).containsExactly(new ConfigurationCheck.Problem(Exit.USAGE,
                f + " was not applied: it could not be read as a .config file"));
    }

    @Test
    void aConfigurationNoComponentTakesIsReportedAsMisspelt() throws Exception {
        runtime.descriptions.add(snapshots);
        Path f = file("org.kcopyd.engin.cfg", "org.kcopyd.engin", null, "defaultPages", "512");

        assertThat(check()).containsExactly(new ConfigurationCheck.Problem(Exit.USAGE,
                f + " configures org.kcopyd.engin, which no component of this runtime uses (a misspelt name?)"));
    }

    @Test
    void aSnapshotThatFailedIsReportedWithItsExceptionsMessage() throws Exception {
        runtime.descriptions.add(snapshots);
        Path f = file("org.kcopyd.snapshot-s1.cfg", "org.kcopyd.snapshot~s1", "org.kcopyd.snapshot", "name", "s1");
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                "java.nio.file.NoSuchFileException: /nowhere/origin.img\n\tat x.y(Z.java:1)\n");

        List<ConfigurationCheck.Problem> problems = check();

        assertThat(problems).containsExactly(new ConfigurationCheck.Problem(Exit.FAILED,
                f + " was not applied: /nowhere/origin.img"));
        assertThat(ConfigurationCheck.exitCode(problems)).isEqualTo(Exit.FAILED);
    }
}
