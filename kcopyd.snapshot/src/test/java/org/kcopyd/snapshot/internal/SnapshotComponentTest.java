package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;
import org.osgi.framework.FrameworkUtil;

/**
 * The snapshot component: a store it makes has its identity written back into the configuration
 * (so the next activation adopts that store and formats nothing), and configurations outside the
 * rules are refused with the value and the rule.
 */
class SnapshotComponentTest {

    private static final int SECTORS = 8192;
    private static final String PID = "org.kcopyd.snapshot~test";

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private Origins origins;
    private byte[] initial;
    private final java.util.List<SnapshotComponent> active = new java.util.ArrayList<>();

    @BeforeEach
    void makeOrigin() throws Exception {
        initial = pattern(SECTORS * 512, 1);
        Files.write(dir.resolve("origin.img"), initial);
        origins = fixture.origins(framework);
    }

    @AfterEach
    void close() {
        active.forEach(SnapshotComponent::deactivate);
        fixture.close();
    }

    private Map<String, Object> config(String name, String cow, Object... more) {
        Map<String, Object> props = new HashMap<>();
        props.put(Snapshot.CONFIG_NAME, name);
        props.put(Snapshot.CONFIG_ORIGIN, dir.resolve("origin.img").toString());
        props.put(Snapshot.CONFIG_COW_STORE, dir.resolve(cow).toString());
        props.put(Snapshot.CONFIG_COW_STORE_SIZE_MIB, 8);
        for (int i = 0; i < more.length; i += 2) {
            props.put((String) more[i], more[i + 1]);
        }
        return props;
    }

    private SnapshotComponent activate(Map<String, Object> props) throws Exception {
        SnapshotComponent c = new SnapshotComponent();
        c.origins = origins;
        c.configurationAdmin = framework.configurationAdmin();
        c.activate(framework.context(), FakeFramework.annotation(SnapshotConfiguration.class, props),
                framework.configure(PID, props));
        active.add(c);
        Exception refusal = framework.refusal(Snapshot.NOT_OPEN_REFUSED, Snapshot.NOT_OPEN_EXCEPTION);
        if (refusal != null) {
            // As the control does with a configuration refused when it is made: removed again.
            deactivate(c);
            throw refusal;
        }
        return c;
    }

    private static void modified(SnapshotComponent c, Map<String, Object> props) throws Exception {
        c.modified(FakeFramework.annotation(SnapshotConfiguration.class, props), props);
    }

    private Snapshot snapshot() {
        return (Snapshot) framework.registered.stream().filter(r -> r.type() == Snapshot.class).findFirst()
                .orElseThrow().service();
    }

    private void deactivate(SnapshotComponent c) {
        c.deactivate();
        active.remove(c);
    }

    @Test
    void aNewStoreHasItsIdentityWrittenBackAndIsAdoptedByTheNextActivation() throws Exception {
        Map<String, Object> original = config("s1", "s1.cow");
        SnapshotComponent c = activate(original);
        Snapshot s1 = snapshot();
        String id = s1.cowStoreId().toString();

        Hashtable<String, Object> recorded = framework.configurations.get(PID);
        assertThat(recorded).containsEntry(Snapshot.CONFIG_COW_STORE_ID, id).doesNotContainKey(Snapshot.CONFIG_FORMAT);
        assertThat(framework.services(Snapshot.COW_STORE_ID, id)).as("the snapshot and its device").hasSize(2);

        // Config Admin hands the written-back configuration to the component: nothing restarts.
        modified(c, recorded);
        assertThat(snapshot()).isSameAs(s1);

        write(s1.device(), 0, pattern(16 * 512, 2));
        byte[] view = read(s1.device());
        deactivate(c);
        String cowBefore = sha256(dir.resolve("s1.cow"));

        assertThatThrownBy(() -> activate(original)).hasMessageContaining("and the configuration names no "
                + "cowStoreId, so it is not adopted").hasMessageContaining("set cowStoreId=" + id);
        assertThat(sha256(dir.resolve("s1.cow"))).isEqualTo(cowBefore);

        activate(new HashMap<>(recorded));
        assertThat(snapshot().cowStoreId().toString()).isEqualTo(id);
        assertSameBytes(read(snapshot().device()), view, "the adopted snapshot");
    }

    /**
     * Found by H23: the daemon killed during a merge, started again, resumed the merge, and no job
     * removed the snapshot at its end: it stayed as a fresh, empty snapshot. With removeWhenMerged
     * (which the commands' merge sets before merging) the component removes its configuration when
     * the resumed merge completes.
     */
    @Test
    void theCreationMarkOfThisFrameworkIsClearedWithTheStoresIdentityOnceOpen() throws Exception {
        activate(config("s1", "s1.cow", Snapshot.CONFIG_CREATING, FakeFramework.FRAMEWORK_UUID));

        assertThat(framework.configurations.get(PID)).as("made: a later start opens it")
                .containsEntry(Snapshot.CONFIG_COW_STORE_ID, snapshot().cowStoreId().toString())
                .doesNotContainKey(Snapshot.CONFIG_CREATING);
    }

    /**
     * H41 A1: the process creating a snapshot ended (SIGTERM, kill -9) before the creation was
     * confirmed; its configuration, marked by that run's framework, is refused at the next start,
     * with nothing made.
     */
    @Test
    void aCreationMarkOfAnotherFrameworkIsRefusedWithNothingMade() {
        String other = "0f0e0d0c-0000-0000-0000-00000000a1a1";

        assertThatThrownBy(() -> activate(config("s1", "s1.cow", Snapshot.CONFIG_CREATING, other)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("snapshot 's1': not opened: its configuration was being created or changed when the kcopyd "
                        + "process doing it stopped (creating=" + other + " names that run), so that was never "
                        + "confirmed; nothing of it is opened or written. Remove it and create it again, or make the "
                        + "change again");
        assertThat(dir.resolve("s1.cow")).doesNotExist();
        assertThat(framework.registered).isEmpty();
        assertThat(framework.configurations.get(PID)).containsEntry(Snapshot.CONFIG_CREATING, other);
    }

    @Test
    void aMergeResumedWithRemoveWhenMergedRemovesTheConfigurationWhenItCompletes() throws Exception {
        // A short wait for an engine, so that stopping the first component does not wait long for the merge step.
        Map<String, Object> props = config("s1", "s1.cow", Snapshot.CONFIG_FACTORY_WAIT_SECONDS, 1);
        SnapshotComponent first = activate(props);
        Snapshot s1 = snapshot();
        write(s1.device(), 0, pattern(64 * 512, 5));
        assertThat(s1.chunksUsed()).isPositive();
        Map<String, Object> recorded = new HashMap<>(framework.configurations.get(PID));
        // No engine: the merge is recorded in the store and cannot copy; the component then stops
        // as a killed process would leave it, its store merging.
        origins.unbindFactory(fixture.engine);
        s1.merge();
        assertThat(s1.state()).isEqualTo(SnapshotState.MERGING);
        deactivate(first);

        recorded.put(Snapshot.CONFIG_REMOVE_WHEN_MERGED, true);
        recorded.put(Snapshot.CONFIG_FACTORY_WAIT_SECONDS, 30);
        activate(recorded);
        assertThat(snapshot().state()).as("resumed").isEqualTo(SnapshotState.MERGING);
        assertThat(framework.configurations).containsKey(PID);

        origins.bindFactory(fixture.engine);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(framework.deleted).containsExactly(PID));
        byte[] expected = initial.clone();
        System.arraycopy(pattern(64 * 512, 5), 0, expected, 0, 64 * 512);
        assertSameBytes(Files.readAllBytes(dir.resolve("origin.img")), expected, "the origin rolled back to the snapshot");
    }

    @Test
    void withoutRemoveWhenMergedAMergedSnapshotStaysAsAFreshOne() throws Exception {
        activate(config("s1", "s1.cow"));
        Snapshot s1 = snapshot();
        write(s1.device(), 0, pattern(64 * 512, 6));
        s1.merge().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(s1.state()).isEqualTo(SnapshotState.ACTIVE);
        assertThat(s1.chunksUsed()).isZero();
        assertThat(framework.deleted).isEmpty();
    }

    @Test
    void formatIsDoneOnceAndCleared() throws Exception {
        Path zeros = Files.write(dir.resolve("zeros.cow"), new byte[8 << 20]);

        SnapshotComponent c = activate(config("s1", "zeros.cow", Snapshot.CONFIG_FORMAT, true));
        Snapshot s1 = snapshot();
        Hashtable<String, Object> recorded = framework.configurations.get(PID);
        assertThat(recorded).containsEntry(Snapshot.CONFIG_COW_STORE_ID, s1.cowStoreId().toString())
                .doesNotContainKey(Snapshot.CONFIG_FORMAT);
        modified(c, recorded);
        assertThat(snapshot()).isSameAs(s1);
        assertThat(zeros).isNotEmptyFile();
    }

    /**
     * The hazard: a configuration that keeps format=true (a configuration file, applied
     * again at every start because nothing writes to it) must not format, at the next start, the
     * store it made the first time, nor the store of a running snapshot.
     */
    @Test
    void aConfigurationThatKeepsFormatNeverFormatsTheStoreItMade() throws Exception {
        Path cow = dir.resolve("s1.cow");
        Path origin = dir.resolve("origin.img");
        Map<String, Object> file = config("s1", "s1.cow", Snapshot.CONFIG_FORMAT, true);
        SnapshotComponent c = activate(file);
        Snapshot s1 = snapshot();
        String id = s1.cowStoreId().toString();
        // Origin writes preserve the snapshot's chunks 0, 1 and 40 in its COW store.
        write(originDevice(), 0, pattern(32 * 512, 4));
        write(originDevice(), 640, pattern(16 * 512, 5));
        assertThat(s1.chunksUsed()).isEqualTo(3);

        // While it runs: the file's configuration again, and one naming another store, are refused; it goes on.
        String otherId = java.util.UUID.randomUUID().toString();
        for (Map<String, Object> again : java.util.List.of(file, with(file, Snapshot.CONFIG_COW_STORE_ID, otherId))) {
            assertThatThrownBy(() -> modified(c, again)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("configuration refused, the snapshot goes on as it was: " + cow
                            + " is its COW store " + id);
            assertThat(snapshot()).isSameAs(s1);
        }
        assertSameBytes(read(s1.device()), initial, "the snapshot, still running");
        deactivate(c);
        String cowBefore = sha256(cow);
        String originBefore = sha256(origin);

        // The next start, with the file's configuration (no identity: writing it back to a file is off).
        assertThatThrownBy(() -> activate(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot 's1': " + cow + " is kcopyd COW store " + id + " (origin of " + SECTORS
                        + " sectors, chunks of 16 sectors), and the configuration names no cowStoreId, so it is not "
                        + "adopted; a kcopyd COW store is never formatted, not even with format=true (--format): set "
                        + "cowStoreId=" + id + " (--cow-store-id " + id + ") to reopen it, or delete " + cow
                        + " yourself to start afresh");
        assertThatThrownBy(() -> activate(with(file, Snapshot.CONFIG_COW_STORE_ID, otherId)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(cow + " is kcopyd COW store " + id
                        + " (origin of " + SECTORS + " sectors, chunks of 16 sectors), and the configuration names "
                        + "cowStoreId " + otherId + ", so it is not adopted; a kcopyd COW store is never formatted");
        assertThat(sha256(cow)).as("the COW store").isEqualTo(cowBefore);
        assertThat(sha256(origin)).as("the origin").isEqualTo(originBefore);
        assertThat(framework.registered).isEmpty();

        // With its identity, format=true adopts it as it was, and is cleared.
        activate(with(file, Snapshot.CONFIG_COW_STORE_ID, id));
        Snapshot adopted = snapshot();
        assertThat(adopted.cowStoreId().toString()).isEqualTo(id);
        assertThat(adopted.chunksUsed()).isEqualTo(3);
        assertSameBytes(read(adopted.device()), initial, "the adopted snapshot");
        assertThat(framework.configurations.get(PID)).containsEntry(Snapshot.CONFIG_COW_STORE_ID, id)
                .doesNotContainKey(Snapshot.CONFIG_FORMAT);
    }

    @Test
    void formatMakesAStoreOverAFileThatHoldsNoKcopydCowStore() throws Exception {
        byte[] content = pattern(8 << 20, 6);
        Path garbage = Files.write(dir.resolve("garbage.bin"), content);

        activate(config("s1", "garbage.bin", Snapshot.CONFIG_FORMAT, true));

        Snapshot s1 = snapshot();
        assertThat(s1.chunksUsed()).isZero();
        assertThat(framework.configurations.get(PID)).containsEntry(Snapshot.CONFIG_COW_STORE_ID,
                s1.cowStoreId().toString()).doesNotContainKey(Snapshot.CONFIG_FORMAT);
        write(originDevice(), 0, pattern(16 * 512, 7));
        assertSameBytes(read(s1.device()), initial, "the snapshot in the formatted file");
        assertThat(java.util.Arrays.copyOf(Files.readAllBytes(garbage), 512)).as("a COW store header now")
                .isNotEqualTo(java.util.Arrays.copyOf(content, 512));
    }

    private org.kcopyd.api.BlockDevice originDevice() {
        return (org.kcopyd.api.BlockDevice) framework.services(org.kcopyd.api.BlockDevice.ROLE, Snapshot.ROLE_ORIGIN).get(0);
    }

    private static Map<String, Object> with(Map<String, Object> props, String key, Object value) {
        Map<String, Object> copy = new HashMap<>(props);
        copy.put(key, value);
        return copy;
    }

    @Test
    void aChangeThatWouldAdoptAStoreWithoutItsIdentityIsRefusedAndTheSnapshotGoesOn() throws Exception {
        Map<String, Object> original = config("s1", "s1.cow");
        SnapshotComponent c = activate(original);
        Snapshot s1 = snapshot();
        Map<String, Object> edited = new HashMap<>(original);
        edited.put(Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT, 32);

        assertThatThrownBy(() -> modified(c, edited)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("configuration refused, the snapshot goes on as it was")
                .hasMessageContaining("set cowStoreId=" + s1.cowStoreId());
        Map<String, Object> otherId = new HashMap<>(framework.configurations.get(PID));
        otherId.put(Snapshot.CONFIG_COW_STORE_ID, java.util.UUID.randomUUID().toString());
        assertThatThrownBy(() -> modified(c, otherId)).hasMessageContaining("is its COW store " + s1.cowStoreId());

        assertThat(snapshot()).isSameAs(s1);
        assertThat(s1.device().read(0, java.nio.ByteBuffer.allocate(512))).isCompleted();
    }

    @Test
    void anyOtherChangeReopensTheSameStore() throws Exception {
        SnapshotComponent c = activate(config("s1", "s1.cow"));
        Snapshot s1 = snapshot();
        write(s1.device(), 0, pattern(16 * 512, 3));
        byte[] view = read(s1.device());
        Map<String, Object> edited = new HashMap<>(framework.configurations.get(PID));
        edited.put(Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT, 32);

        modified(c, edited);

        assertThat(snapshot()).isNotSameAs(s1);
        assertThat(snapshot().cowStoreId()).isEqualTo(s1.cowStoreId());
        assertSameBytes(read(snapshot().device()), view, "the reopened snapshot");
    }

    @ParameterizedTest
    @ValueSource(strings = {"b*", "../s", "", ".", "..", "...", "a b", "s(1)", "é", "a\\b",
        "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"})
    void namesOutsideTheRuleAreRefusedBeforeAnythingIsMade(String name) {
        assertThatThrownBy(() -> activate(config(name, "s.cow"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot name '" + name + "' is not allowed: a name is 1 to 64 characters of A-Z a-z "
                        + "0-9 . _ -, not only dots (" + Snapshot.NAME_RULE + ")");

        assertThat(dir.resolve("s.cow")).doesNotExist();
        assertThat(framework.registered).isEmpty();
    }

    @Test
    void aConfigurationWithoutANameSaysTheNameIsMissing() {
        Map<String, Object> noName = new HashMap<>(config("s1", "s.cow"));
        noName.remove(Snapshot.CONFIG_NAME);
        assertThatThrownBy(() -> activate(noName)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot name is missing: a name is 1 to 64 characters of A-Z a-z "
                        + "0-9 . _ -, not only dots (" + Snapshot.NAME_RULE + ")");

        assertThat(dir.resolve("s.cow")).doesNotExist();
        assertThat(framework.registered).isEmpty();
    }

    /**
     * A refused configuration leaves the component active, its not-open status saying the refusal, so
     * that the configuration mended in place is tried: Felix SCR does not activate a component whose
     * activation failed again when its configuration changes, and a configuration file fixed by hand
     * (FileInstall, Karaf's etc/) never opened the snapshot (stop 29's note).
     */
    @Test
    void aRefusedConfigurationMendedInPlaceOpensTheSnapshot() throws Exception {
        SnapshotComponent c = new SnapshotComponent();
        c.origins = origins;
        c.configurationAdmin = framework.configurationAdmin();
        Map<String, Object> bad = config("s1", "s1.cow", Snapshot.CONFIG_CHUNK_SECTORS, 7);
        c.activate(framework.context(), FakeFramework.annotation(SnapshotConfiguration.class, bad),
                framework.configure(PID, bad));
        active.add(c);

        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).startsWith("snapshot 's1': chunkSectors 7 is not a "
                + "power of two in 8..2048");
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED)).isEqualTo(true);
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_EXCEPTION))
                .isEqualTo(IllegalArgumentException.class.getName());
        assertThat(dir.resolve("s1.cow")).doesNotExist();

        Map<String, Object> stillBad = config("s1", "s1.cow", Snapshot.CONFIG_CHUNK_SECTORS, 24);
        modified(c, stillBad);
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).startsWith("snapshot 's1': chunkSectors 24 is not a");

        modified(c, config("s1", "s1.cow", Snapshot.CONFIG_CHUNK_SECTORS, 16));
        assertThat(snapshot().name()).isEqualTo("s1");
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).isNull();
    }

    @Test
    void namesWithinTheRuleAreAccepted() {
        for (String name : new String[] {"s", "Beta-2.snap_1", "s".repeat(64)}) {
            assertThat(new SnapshotSettings(name, dir, dir, 16, 2048, 1, Duration.ZERO, null, false, null).name())
                    .isEqualTo(name);
        }
    }

    @Test
    void settingsOutsideTheirLimitsAreRefusedWithTheValueAndTheLimit() {
        Object[][] cases = {
            {Snapshot.CONFIG_CHUNK_SECTORS, 7, "chunkSectors 7 is not a power of two in 8..2048"},
            {Snapshot.CONFIG_CHUNK_SECTORS, -8, "chunkSectors -8 is not a power of two in 8..2048"},
            {Snapshot.CONFIG_CHUNK_SECTORS, 4096, "chunkSectors 4096 is not a power of two in 8..2048"},
            {Snapshot.CONFIG_COW_STORE_SIZE_MIB, 0, "cowStoreSizeMiB 0 is outside 1..16777216"},
            {Snapshot.CONFIG_COW_STORE_SIZE_MIB, -5, "cowStoreSizeMiB -5 is outside 1..16777216"},
            {Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT, 0, "maxCopiesInFlight 0 is outside 1..65536"},
            {Snapshot.CONFIG_FACTORY_WAIT_SECONDS, -1, "factoryWaitSeconds -1 is outside 0..3600"},
            {Snapshot.CONFIG_COW_STORE_ID, "xyz", "cowStoreId 'xyz' is not a UUID"},
            {Snapshot.CONFIG_ORIGIN, " ", "the configuration lacks 'origin'"},
        };
        for (Object[] bad : cases) {
            assertThatThrownBy(() -> activate(config("s1", "s.cow", bad[0], bad[1])))
                    .as("%s=%s", bad[0], bad[1]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("snapshot 's1': " + bad[2]);
        }
        assertThat(dir.resolve("s.cow")).doesNotExist();
    }

    @Test
    void theExportedConfigurationConstantsNameTheConfigurationsAttributes() throws Exception {
        Set<String> attributes = Arrays.stream(SnapshotConfiguration.class.getDeclaredMethods()).map(Method::getName)
                .collect(Collectors.toSet());
        Set<String> constants = new java.util.HashSet<>();
        for (Field f : Snapshot.class.getFields()) {
            if (f.getName().startsWith("CONFIG_") && Modifier.isStatic(f.getModifiers())) {
                constants.add((String) f.get(null));
            }
        }
        assertThat(constants).isEqualTo(attributes);
    }

    @Test
    void anEscapedValueInAFilterMatchesOnlyItself() throws Exception {
        Hashtable<String, Object> beta = new Hashtable<>(Map.of("name", "beta"));
        Hashtable<String, Object> star = new Hashtable<>(Map.of("name", "b*"));

        assertThat(FrameworkUtil.createFilter("(name=" + Filters.escape("b*") + ")").match(beta)).isFalse();
        assertThat(FrameworkUtil.createFilter("(name=" + Filters.escape("b*") + ")").match(star)).isTrue();
        assertThat(FrameworkUtil.createFilter("(name=" + Filters.escape("a)(name=*") + ")")
                .match(new Hashtable<>(Map.of("name", "a)(name=*")))).isTrue();
        assertThat(FrameworkUtil.createFilter("(name=" + Filters.escape("a\\b") + ")")
                .match(new Hashtable<>(Map.of("name", "a\\b")))).isTrue();
    }
}
