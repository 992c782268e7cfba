package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The start-up check of a configuration directory: everything in effect, or one line per file
 * saying why not, at once (no waiting for a timeout when the reason is known).
 */
class ConfigurationCheckTest {

    @TempDir
    Path dir;

    /** The engine's configuration file, as FileInstall names it after the PID. */
    private static final String ENGINE_FILE = KcopydClientFactory.PID + ".cfg";

    private final FakeRuntime runtime = new FakeRuntime();
    private final ComponentDescriptionDTO snapshots = FakeRuntime.description(Snapshot.FACTORY_PID,
            Snapshot.FACTORY_PID);

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

    /** Snapshot s1's file, as FileInstall names a factory configuration and its PID. */
    private Path snapshotFile() throws Exception {
        return file(Snapshot.FACTORY_PID + "-s1.cfg", Snapshot.FACTORY_PID + "~s1", Snapshot.FACTORY_PID,
                Snapshot.CONFIG_NAME, "s1");
    }

    private List<ConfigurationCheck.Problem> check() throws Exception {
        return ConfigurationCheck.check(runtime, dir, Duration.ofMillis(300));
    }

    @Test
    void everythingInEffectIsNoProblem() throws Exception {
        runtime.descriptions.add(snapshots);
        runtime.factoryProperties.put(KcopydClientFactory.CONFIG_STATE, KcopydClientFactory.CONFIG_STATE_APPLIED);
        file(ENGINE_FILE, KcopydClientFactory.PID, null, "defaultPages", "512");
        snapshotFile();
        Files.writeString(dir.resolve("planted.jar"), "not read: only .cfg and .config files are");
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.ACTIVE, null);

        assertThat(check()).isEmpty();
    }

    @Test
    void aRefusedEngineConfigurationIsReportedWithTheEnginesReason() throws Exception {
        runtime.factoryProperties.put(KcopydClientFactory.CONFIG_STATE, KcopydClientFactory.CONFIG_STATE_REFUSED);
        runtime.factoryProperties.put(KcopydClientFactory.CONFIG_REFUSED, "defaultPages 0 is outside the allowed range "
                + "1..262144");
        Path f = file(ENGINE_FILE, KcopydClientFactory.PID, null, "defaultPages", "0");

        List<ConfigurationCheck.Problem> problems = check();

        assertThat(problems).containsExactly(new ConfigurationCheck.Problem(Exit.USAGE,
                f + " was refused: defaultPages 0 is outside the allowed range 1..262144"));
        assertThat(ConfigurationCheck.exitCode(problems)).isEqualTo(Exit.USAGE);
    }

    @Test
    void controlCharactersOfAGarbageFileDoNotReachTheTerminal() throws Exception {
        runtime.factoryProperties.put(KcopydClientFactory.CONFIG_STATE, KcopydClientFactory.CONFIG_STATE_REFUSED);
        runtime.factoryProperties.put(KcopydClientFactory.CONFIG_REFUSED, "unknown setting '\u001b[2J\u0007x'; known: []");
        file(ENGINE_FILE, KcopydClientFactory.PID, null, "\u001b[2J\u0007x", "1");

        assertThat(check().get(0).message()).endsWith("unknown setting '?[2J?x'; known: []");
    }

    @Test
    void aFileThatGaveNoConfigurationIsReported() throws Exception {
        runtime.factoryProperties.put(KcopydClientFactory.CONFIG_STATE, KcopydClientFactory.CONFIG_STATE_DEFAULTS);
        Path f = file(KcopydClientFactory.PID + ".config", null, null);

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
        Path f = snapshotFile();
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                "java.nio.file.NoSuchFileException: /nowhere/origin.img\n\tat x.y(Z.java:1)\n");

        List<ConfigurationCheck.Problem> problems = check();

        assertThat(problems).containsExactly(new ConfigurationCheck.Problem(Exit.FAILED,
                f + " was not applied: /nowhere/origin.img"));
        assertThat(ConfigurationCheck.exitCode(problems)).isEqualTo(Exit.FAILED);
    }

    /**
     * A component's refusal of its values (IllegalArgumentException) is a usage error; with a failure
     * beside it, both files are reported, in name order, and the run exits as failed.
     */
    @Test
    void refusedValuesAreAUsageErrorAndAFailureBesideThemMakesTheRunFail() throws Exception {
        runtime.descriptions.add(snapshots);
        Path refused = file("a-" + Snapshot.FACTORY_PID + "-s1.cfg", Snapshot.FACTORY_PID + "~s1",
                Snapshot.FACTORY_PID, Snapshot.CONFIG_NAME, "s1");
        Path failed = file("b-" + Snapshot.FACTORY_PID + "-s2.cfg", Snapshot.FACTORY_PID + "~s2",
                Snapshot.FACTORY_PID, Snapshot.CONFIG_NAME, "s2");
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                "s1".equals(p.get(Snapshot.CONFIG_NAME))
                        ? "java.lang.IllegalArgumentException: snapshot 's1': chunkSectors 7 is not a power of two\n"
                        : "java.io.IOException: /srv/s2.cow: disk full\n");

        List<ConfigurationCheck.Problem> problems = check();

        ConfigurationCheck.Problem refusal = new ConfigurationCheck.Problem(Exit.USAGE,
                refused + " was not applied: snapshot 's1': chunkSectors 7 is not a power of two");
        assertThat(problems).containsExactly(refusal, new ConfigurationCheck.Problem(Exit.FAILED,
                failed + " was not applied: /srv/s2.cow: disk full"));
        assertThat(ConfigurationCheck.exitCode(problems)).isEqualTo(Exit.FAILED);
        assertThat(ConfigurationCheck.exitCode(List.of(refusal))).isEqualTo(Exit.USAGE);
    }

    /** The control service cannot tell (the configuration was deleted meanwhile): its reason, one line, no throw. */
    @Test
    void aConfigurationTheControlCannotJudgeIsReportedWithTheControlsReason() throws Exception {
        runtime.descriptions.add(snapshots);
        Path f = snapshotFile();
        KcopydControl control = (KcopydControl) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {KcopydControl.class}, (proxy, method, args) -> {
                    throw ControlException.notFound("no configuration has PID " + args[0]);
                });
        Services services = (Services) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Services.class}, (proxy, method, args) -> method.getName().equals("control") ? control
                        : method.invoke(runtime, args));

        List<ConfigurationCheck.Problem> problems = ConfigurationCheck.check(services, dir, Duration.ofMillis(300));

        assertThat(problems).containsExactly(new ConfigurationCheck.Problem(Exit.FAILED,
                f + " was not applied: no configuration has PID " + Snapshot.FACTORY_PID + "~s1"));
    }
}
