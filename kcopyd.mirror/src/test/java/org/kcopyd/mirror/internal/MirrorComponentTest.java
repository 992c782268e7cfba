package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;
import static org.kcopyd.mirror.internal.MirrorFixture.sha256;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;

/**
 * The mirror component and its configuration: a log it makes has its identity written back (and
 * format cleared), and a configuration that keeps format=true — a configuration file, applied
 * again at every start because nothing writes to it — never formats the log it made: a kcopyd
 * region log is adopted when the configuration names it, else refused, with every file as it was.
 */
class MirrorComponentTest {

    private static final int SECTORS = 4096;
    private static final String PID = "org.kcopyd.mirror~test";

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final FakeFramework framework = new FakeFramework();
    private final List<MirrorComponent> active = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        active.forEach(MirrorComponent::deactivate);
        fixture.close();
    }

    private Map<String, Object> config(Path log, Object... more) {
        Map<String, Object> props = new HashMap<>();
        props.put(Mirror.CONFIG_NAME, "m");
        props.put(Mirror.CONFIG_LEGS, new String[] {"service:a", dir.resolve("b.img").toString()});
        props.put(Mirror.CONFIG_REGION_LOG, log.toString());
        props.put(Mirror.CONFIG_REGION_SECTORS, MirrorFixture.REGION);
        for (int i = 0; i < more.length; i += 2) {
            props.put((String) more[i], more[i + 1]);
        }
        return props;
    }

    private static Map<String, Object> with(Map<String, Object> props, String key, Object value) {
        Map<String, Object> copy = new HashMap<>(props);
        copy.put(key, value);
        return copy;
    }

    /** A configuration with two file legs. */
    private static Map<String, Object> files(String name, Path log, Path leg0, Path leg1, Object... more) {
        Map<String, Object> props = new HashMap<>();
        props.put(Mirror.CONFIG_NAME, name);
        props.put(Mirror.CONFIG_LEGS, new String[] {leg0.toString(), leg1.toString()});
        props.put(Mirror.CONFIG_REGION_LOG, log.toString());
        props.put(Mirror.CONFIG_REGION_SECTORS, MirrorFixture.REGION);
        for (int i = 0; i < more.length; i += 2) {
            props.put((String) more[i], more[i + 1]);
        }
        return props;
    }

    private MirrorComponent activate(Map<String, Object> props) throws Exception {
        return activate(props, true);
    }

    private MirrorComponent activate(Map<String, Object> props, boolean engine) throws Exception {
        MirrorComponent c = new MirrorComponent();
        c.configurationAdmin = framework.configurationAdmin();
        if (engine) {
            c.bindFactory(fixture.engine);
        }
        c.activate(framework.context(), FakeFramework.annotation(MirrorConfiguration.class, props),
                framework.configure(PID, props));
        active.add(c);
        Exception refusal = framework.refusal(Mirror.NOT_OPEN_REFUSED, Mirror.NOT_OPEN_EXCEPTION);
        if (refusal != null) {
            // As the control does with a configuration refused when it is made: removed again.
            deactivate(c);
            throw refusal;
        }
        return c;
    }

    private void modified(MirrorComponent c, Map<String, Object> props) throws Exception {
        c.modified(framework.context(), FakeFramework.annotation(MirrorConfiguration.class, props),
                framework.configure(PID, props));
        Exception refusal = framework.refusal(Mirror.NOT_OPEN_REFUSED, Mirror.NOT_OPEN_EXCEPTION);
        if (refusal != null) {
            // The component stays active, its mirror closed: the configuration's next change is tried.
            throw refusal;
        }
    }

    private void deactivate(MirrorComponent c) {
        c.deactivate();
        active.remove(c);
    }

    private Mirror mirror() {
        List<Mirror> mirrors = framework.services(Mirror.class);
        assertThat(mirrors).hasSize(1);
        return mirrors.get(0);
    }

    private static void awaitInSync(Mirror m) throws Exception {
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    private static Map<Path, String> sha256s(Path... files) throws Exception {
        Map<Path, String> sums = new HashMap<>();
        for (Path f : files) {
            sums.put(f, sha256(f));
        }
        return sums;
    }

    /**
     * The tester's case (c): {@code mirror create y x.log a.img b.img --format}, x.log being mirror
     * x's valid region log. Refused, whether x runs (its log is claimed) or not (a kcopyd region
     * log is never formatted), with every file as it was.
     */
    @Test
    void formatOverAnotherMirrorsLogIsRefusedAndChangesNothing() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 10));
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 11));
        Path c = Files.write(dir.resolve("c.img"), random(SECTORS * 512, 12));
        Path d = Files.write(dir.resolve("d.img"), random(SECTORS * 512, 13));
        Path xLog = dir.resolve("x.log");
        MirrorComponent x = activate(files("x", xLog, a, b));
        String id = mirror().regionLogId().toString();
        awaitInSync(mirror());

        assertThatThrownBy(() -> activate(files("y", xLog, c, d, Mirror.CONFIG_FORMAT, true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'y': region log " + xLog + " cannot be "
                        + "used: " + xLog + " is the region log of mirror x");
        deactivate(x);
        Map<Path, String> before = sha256s(xLog, a, b, c, d);

        for (Map<String, Object> y : List.of(files("y", xLog, a, b, Mirror.CONFIG_FORMAT, true),
                files("y", xLog, c, d, Mirror.CONFIG_FORMAT, true),
                files("y", xLog, a, b, Mirror.CONFIG_FORMAT, true, Mirror.CONFIG_REGION_LOG_ID,
                        UUID.randomUUID().toString()))) {
            assertThatThrownBy(() -> activate(y)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mirror 'y': " + xLog + " is the region log of mirror 'x' (regionLogId "
                            + id + "; ").hasMessageContaining(", so it is not adopted; a kcopyd region log is never "
                            + "formatted, not even with format=true (--format): set regionLogId=" + id);
        }
        assertThat(sha256s(xLog, a, b, c, d)).isEqualTo(before);
        assertThat(framework.registered).isEmpty();
    }

    /**
     * replace-leg's way in (the control API changes the configuration's legs): a new leg that
     * holds a removed snapshot's COW store is refused before a byte of it is written, and the
     * mirror opens again with its previous legs.
     */
    @Test
    void aLegReplacedByACowStoreIsRefusedAndTheStoreIsNotWritten() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 50));
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 51));
        ByteBuffer store = ByteBuffer.wrap(random(SECTORS * 512, 52)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        UUID storeId = UUID.randomUUID();
        store.putLong(0, KcopydHeaders.COW_STORE_MAGIC).putInt(8, 3).putLong(32, storeId.getMostSignificantBits())
                .putLong(40, storeId.getLeastSignificantBits());
        Path cow = Files.write(dir.resolve("s64.cow"), store.array());
        Path log = dir.resolve("m.log");
        MirrorComponent c = activate(files("m", log, a, b));
        String id = mirror().regionLogId().toString();
        awaitInSync(mirror());
        String cowBefore = sha256(cow);

        assertThatThrownBy(() -> modified(c, files("m", log, a, cow, Mirror.CONFIG_REGION_LOG_ID, id)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'm': leg 1 " + cow + " holds a kcopyd "
                        + "COW store (cowStoreId " + storeId + "); a kcopyd COW store or region log is never a mirror leg "
                        + "(the resync would overwrite it), so nothing was written: name another file, or, if that store "
                        + "is no longer wanted, delete " + cow + " yourself (or zero its first sector)");
        assertThat(sha256(cow)).isEqualTo(cowBefore);
        assertThat(framework.registered).isEmpty();

        modified(c, files("m", log, a, b, Mirror.CONFIG_REGION_LOG_ID, id));
        assertThat(mirror().regionLogId().toString()).isEqualTo(id);
        assertThat(sha256(cow)).isEqualTo(cowBefore);
    }

    /**
     * The tester's case (a), through the component: a mirror stopped mid-resync (no engine: leg 1
     * still resyncing), the legs' files then trade names; reopened with its log's identity, with
     * or without format, it is refused, and every file is as it was.
     */
    @Test
    void legsThatTradedNamesAfterAStopMidResyncAreRefusedAndChangeNothing() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 14));
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 15));
        Path log = dir.resolve("m.log");
        Map<String, Object> props = files("m", log, a, b);
        MirrorComponent c = activate(props, false);
        Mirror m = mirror();
        m.device().write(0, ByteBuffer.wrap(random(8 * 512, 16))).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(m.status().legs().get(1).state()).isEqualTo(LegState.RESYNCING);
        String id = m.regionLogId().toString();
        deactivate(c);
        Path aside = dir.resolve("aside");
        Files.move(a, aside);
        Files.move(b, a);
        Files.move(aside, b);
        Map<Path, String> before = sha256s(log, a, b);

        for (boolean format : new boolean[] {false, true}) {
            assertThatThrownBy(() -> activate(files("m", log, a, b, Mirror.CONFIG_REGION_LOG_ID, id,
                    Mirror.CONFIG_FORMAT, format))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mirror 'm': leg 0 " + a + " is not the file this log recorded")
                    .hasMessageContaining("it is the file recorded as " + b + ", RESYNCING); legs may have been "
                            + "swapped, replaced or written outside the mirror");
        }
        assertThat(sha256s(log, a, b)).isEqualTo(before);
        assertThat(framework.registered).isEmpty();
    }

    /**
     * The case, through the component: leg 0 has failed and leg 1 alone holds the newest
     * data. A new log from the configuration's lingering format=true would make stale leg 0 the
     * default leg and copy it over leg 1.
     */
    @Test
    void aConfigurationThatKeepsFormatNeverFormatsTheLogItMade() throws Exception {
        byte[] data = random(SECTORS * 512, 1);
        MirrorFixture.FailingLeg leg0 = new MirrorFixture.FailingLeg(fixture.leg(dir.resolve("a.img"), data));
        framework.devices.put("a", leg0);
        Files.write(dir.resolve("b.img"), random(SECTORS * 512, 2));
        Path log = dir.resolve("m.log");
        Map<String, Object> file = config(log, Mirror.CONFIG_FORMAT, true);

        MirrorComponent c = activate(file);
        Mirror m = mirror();
        String id = m.regionLogId().toString();
        assertThat(framework.configurations.get(PID)).containsEntry(Mirror.CONFIG_REGION_LOG_ID, id)
                .doesNotContainKey(Mirror.CONFIG_FORMAT);
        awaitInSync(m);
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).as("leg 0 copied to leg 1").isEqualTo(data);
        leg0.failWritesFrom = 0;
        byte[] newest = random(8 * 512, 3);
        m.device().write(0, ByteBuffer.wrap(newest)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(m.status().legs().get(0).state()).isEqualTo(LegState.FAILED);

        // While it runs: another identity for its log is refused and it goes on; no identity keeps the open log.
        String otherId = UUID.randomUUID().toString();
        assertThatThrownBy(() -> modified(c, with(file, Mirror.CONFIG_REGION_LOG_ID, otherId)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'm': configuration refused, the "
                        + "mirror goes on as it was: " + log + " is its region log " + id + " and the new configuration "
                        + "names regionLogId " + otherId + " (set regionLogId=" + id + "; a kcopyd region log is never "
                        + "formatted, not even with format=true)");
        modified(c, file);
        assertThat(mirror()).isSameAs(m);
        assertThat(m.status().legs().get(0).state()).isEqualTo(LegState.FAILED);
        deactivate(c);
        Map<Path, String> before = new HashMap<>();
        for (Path f : List.of(log, dir.resolve("a.img"), dir.resolve("b.img"))) {
            before.put(f, sha256(f));
        }

        // The next start, with the file's configuration (no identity: writing it back to a file is off).
        assertThatThrownBy(() -> activate(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': " + log + " is the region log of mirror 'm' (regionLogId " + id + "; regions "
                        + "of 64 sectors, a mirror of " + SECTORS + " sectors, legs [service:a FAILED, "
                        + dir.resolve("b.img") + " IN_SYNC]), and the configuration names no regionLogId, so it is not "
                        + "adopted; a kcopyd region log is never formatted, not even with format=true (--format): set "
                        + "regionLogId=" + id + " (--log-id " + id + ") to adopt it, or delete " + log + " yourself to "
                        + "start afresh (a new log resyncs every other leg from leg 0: "
                        + "first make sure leg 0 holds the data)");
        assertThatThrownBy(() -> activate(with(file, Mirror.CONFIG_REGION_LOG_ID, otherId)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("and the configuration names "
                        + "regionLogId " + otherId + ", so it is not adopted; a kcopyd region log is never formatted");
        for (Map.Entry<Path, String> f : before.entrySet()) {
            assertThat(sha256(f.getKey())).as(f.getKey() + " untouched").isEqualTo(f.getValue());
        }
        assertThat(framework.registered).isEmpty();

        // With its identity, format=true adopts it as it was, and is cleared.
        activate(with(file, Mirror.CONFIG_REGION_LOG_ID, id));
        Mirror adopted = mirror();
        assertThat(adopted.regionLogId().toString()).isEqualTo(id);
        MirrorStatus status = adopted.status();
        assertThat(status.legs().get(0).state()).as("leg 0's failure survived").isEqualTo(LegState.FAILED);
        assertThat(status.legs().get(1).state()).isEqualTo(LegState.IN_SYNC);
        awaitInSync(adopted);
        assertThat(read(adopted.device())).startsWith(newest);
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).as("the only good leg").startsWith(newest);
        assertThat(framework.configurations.get(PID)).containsEntry(Mirror.CONFIG_REGION_LOG_ID, id)
                .doesNotContainKey(Mirror.CONFIG_FORMAT);
    }

    @Test
    void theCreationMarkOfThisFrameworkIsClearedWithTheLogsIdentityOnceOpen() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 21));
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 22));

        activate(files("m", dir.resolve("m.log"), a, b, Mirror.CONFIG_CREATING, FakeFramework.FRAMEWORK_UUID));

        assertThat(framework.configurations.get(PID)).as("made: a later start opens it")
                .containsEntry(Mirror.CONFIG_REGION_LOG_ID, mirror().regionLogId().toString())
                .doesNotContainKey(Mirror.CONFIG_CREATING);
    }

    /**
     * H41 A1: the process creating a mirror ended (SIGTERM, kill -9) while the user waited for the
     * answer; at the next start its configuration, marked by that run's framework, is refused: no
     * log made, no leg resynced.
     */
    @Test
    void aCreationMarkOfAnotherFrameworkIsRefusedWithNothingWritten() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 23));
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 24));
        Map<Path, String> before = sha256s(a, b);
        String other = "0f0e0d0c-0000-0000-0000-00000000a1a1";

        assertThatThrownBy(() -> activate(files("m", dir.resolve("m.log"), a, b, Mirror.CONFIG_CREATING, other)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("mirror 'm': not opened: its configuration was being created or changed when the kcopyd "
                        + "process doing it stopped (creating=" + other + " names that run), so that was never "
                        + "confirmed; nothing of it is opened or written. Remove it and create it again, or make the "
                        + "change again");
        assertThat(dir.resolve("m.log")).doesNotExist();
        assertThat(sha256s(a, b)).isEqualTo(before);
        assertThat(framework.registered).isEmpty();
    }

    /**
     * Mirror m of the device service a ({@code leg0}) and b.img, in sync; then {@code written} is
     * written at sector 0 with leg 0 failing writes: leg 0 failed, leg 1 holds it.
     */
    private MirrorComponent inSyncThenLeg0Failed(MirrorFixture.FailingLeg leg0, byte[] written) throws Exception {
        framework.devices.put("a", leg0);
        Files.write(dir.resolve("b.img"), random(SECTORS * 512, 32));
        MirrorComponent c = activate(config(dir.resolve("m.log")));
        awaitInSync(mirror());
        leg0.failWritesFrom = 0;
        mirror().device().write(0, ByteBuffer.wrap(written)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(mirror().status().legs().get(0).state()).isEqualTo(LegState.FAILED);
        return c;
    }

    /**
     * H42 #5: a leg the region log records failed is never read nor written, so the mirror does not
     * wait for it at its next start: its device service gone, the mirror opens without it, the
     * other leg in sync serving the data, and the leg's status says it is not open.
     */
    @Test
    void aLegRecordedFailedThatIsGoneDoesNotKeepTheMirrorFromOpening() throws Exception {
        MirrorFixture.FailingLeg leg0 = new MirrorFixture.FailingLeg(fixture.leg(dir.resolve("a.img"),
                random(SECTORS * 512, 31)));
        byte[] newest = random(8 * 512, 33);
        MirrorComponent c = inSyncThenLeg0Failed(leg0, newest);
        deactivate(c);
        framework.devices.remove("a");

        activate(new HashMap<>(framework.configurations.get(PID)));

        Mirror again = mirror();
        LegStatus leg = again.status().legs().get(0);
        assertThat(leg.state()).isEqualTo(LegState.FAILED);
        assertThat(leg.failure()).startsWith("write at sector 0 failed: injected write error at 0")
                .endsWith("; not opened at this start (no BlockDevice service with kcopyd.device.name=a)");
        assertThat(again.status().legs().get(1).state()).isEqualTo(LegState.IN_SYNC);
        assertThat(read(again.device())).startsWith(newest);
        byte[] later = random(8 * 512, 34);
        again.device().write(8, ByteBuffer.wrap(later)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(Arrays.copyOfRange(Files.readAllBytes(dir.resolve("b.img")), 8 * 512, 16 * 512)).isEqualTo(later);
    }

    /**
     * H43 F6: a failed leg stays failed while it is the device the log recorded, however long it has
     * been repaired; {@value Mirror#CONFIG_RESYNC_LEGS} brings it back, resynced fully from the leg in
     * sync, and is cleared once the mirror is open. A name that is none of the legs is refused.
     */
    @Test
    void aFailedLegNamedInResyncLegsIsBroughtBackAndResyncedFully() throws Exception {
        MirrorFixture.FailingLeg leg0 = new MirrorFixture.FailingLeg(fixture.leg(dir.resolve("a.img"),
                random(SECTORS * 512, 36)));
        MirrorComponent c = inSyncThenLeg0Failed(leg0, random(8 * 512, 38));
        leg0.failWritesFrom = Long.MAX_VALUE;
        Map<String, Object> recorded = new HashMap<>(framework.configurations.get(PID));

        assertThatThrownBy(() -> modified(c, with(recorded, Mirror.CONFIG_RESYNC_LEGS, new String[] {"service:b"})))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'm': resyncLegs names 'service:b', "
                        + "which is none of its legs [service:a, " + dir.resolve("b.img") + "]");
        modified(c, with(recorded, Mirror.CONFIG_RESYNC_LEGS, new String[] {"service:a"}));

        Mirror back = mirror();
        assertThat(back.status().legs().get(0).failure()).startsWith("brought back after it failed (write at sector 0 "
                + "failed: injected write error at 0); resynced fully");
        awaitInSync(back);
        assertThat(back.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(read(leg0)).isEqualTo(Files.readAllBytes(dir.resolve("b.img")));
        assertThat(framework.configurations.get(PID)).doesNotContainKey(Mirror.CONFIG_RESYNC_LEGS);
    }

    /**
     * A refused configuration leaves the component active, its not-open status saying the refusal, so
     * that the configuration mended in place is tried: Felix SCR does not activate a component whose
     * activation failed again when its configuration changes, and a configuration file fixed by hand
     * (FileInstall, Karaf's etc/) never opened the mirror (stop 29's note).
     */
    @Test
    void aRefusedConfigurationMendedInPlaceOpensTheMirror() throws Exception {
        byte[] data = random(SECTORS * 512, 45);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), new byte[SECTORS * 512]);
        byte[] notes = random(64 * 1024, 46);
        Path notALog = Files.write(dir.resolve("notes.bin"), notes);
        MirrorComponent c = new MirrorComponent();
        c.configurationAdmin = framework.configurationAdmin();
        c.bindFactory(fixture.engine);
        Map<String, Object> bad = files("m", notALog, a, b);
        c.activate(framework.context(), FakeFramework.annotation(MirrorConfiguration.class, bad),
                framework.configure(PID, bad));
        active.add(c);

        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).contains(notALog + " is not a kcopyd region log");
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED)).isEqualTo(true);
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_EXCEPTION))
                .isEqualTo(IllegalArgumentException.class.getName());
        assertThat(framework.services(Mirror.class)).isEmpty();
        assertThat(Files.readAllBytes(notALog)).isEqualTo(notes);
        assertThat(Files.readAllBytes(b)).isEqualTo(new byte[SECTORS * 512]);

        modified(c, files("m", dir.resolve("m.log"), a, b));

        awaitInSync(mirror());
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).isNull();
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
    }

    /**
     * H45 F4: a write outside the mirror into the middle of a leg in sync goes unnoticed (no
     * fingerprint looks there); naming the leg in {@value Mirror#CONFIG_RESYNC_LEGS} resyncs it
     * fully from the other leg, as LVM's {@code lvchange --resync} does.
     */
    @Test
    void aLegInSyncNamedInResyncLegsIsResyncedFullyFromTheOther() throws Exception {
        byte[] data = random(SECTORS * 512, 40);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 41));
        Map<String, Object> props = files("m", dir.resolve("m.log"), a, b);
        MirrorComponent c = activate(props);
        awaitInSync(mirror());
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(b,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(random(4096, 42)), SECTORS * 512L / 2);
        }
        assertThat(Files.readAllBytes(b)).as("written outside the mirror").isNotEqualTo(data);

        modified(c, with(framework.configurations.get(PID), Mirror.CONFIG_RESYNC_LEGS, new String[] {b.toString()}));

        Mirror m = mirror();
        assertThat(m.status().legs().get(1).failure()).isEqualTo(RegionLog.RESYNCED_AS_ASKED + "in-sync)");
        awaitInSync(m);
        assertThat(m.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
        assertThat(framework.configurations.get(PID)).doesNotContainKey(Mirror.CONFIG_RESYNC_LEGS);
    }

    /**
     * H47 1: resyncing one leg of three copied every region to the other leg in sync too, so what the
     * source held (written outside the mirror since) replaced a good leg nobody named. Only the named
     * leg is written; a region set at the open (a crash may have left the legs differing there) still
     * goes to every leg (MirrorCrashTest).
     */
    @Test
    void resyncingOneLegOfThreeWritesThatLegOnly() throws Exception {
        byte[] data = random(SECTORS * 512, 47);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), data);
        Path c3 = Files.write(dir.resolve("c.img"), random(SECTORS * 512, 48));
        Map<String, Object> props = files("m", dir.resolve("m.log"), a, b);
        props.put(Mirror.CONFIG_LEGS, new String[] {a.toString(), b.toString(), c3.toString()});
        MirrorComponent c = activate(props);
        awaitInSync(mirror());
        assertThat(Files.readAllBytes(c3)).isEqualTo(data);
        byte[] outside = random(4096, 49);
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(a,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(outside), SECTORS * 512L / 2);
        }
        long bModified = Files.getLastModifiedTime(b).toMillis();

        modified(c, with(framework.configurations.get(PID), Mirror.CONFIG_RESYNC_LEGS, new String[] {c3.toString()}));
        awaitInSync(mirror());

        assertThat(Files.readAllBytes(b)).as("leg 1, in sync and not named").isEqualTo(data);
        assertThat(Files.getLastModifiedTime(b).toMillis()).as("leg 1 not written").isEqualTo(bModified);
        assertThat(Files.readAllBytes(c3)).as("leg 2, resynced from leg 0").isEqualTo(Files.readAllBytes(a));
    }

    /** H45 F4: resyncing every leg in sync would leave none to copy from: refused, nothing written. */
    @Test
    void resyncLegsNamingEveryLegInSyncIsRefusedWithNothingWritten() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 43));
        Path b = Files.write(dir.resolve("b.img"), random(SECTORS * 512, 44));
        MirrorComponent c = activate(files("m", dir.resolve("m.log"), a, b));
        awaitInSync(mirror());
        deactivate(c);
        Map<Path, String> before = sha256s(a, b, dir.resolve("m.log"));

        Map<String, Object> both = with(framework.configurations.get(PID), Mirror.CONFIG_RESYNC_LEGS,
                new String[] {a.toString(), b.toString()});
        assertThatThrownBy(() -> activate(both)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("resyncLegs asks to resync leg [0, 1] fully, and no other leg is in sync to copy "
                        + "from; nothing was written");
        assertThat(sha256s(a, b, dir.resolve("m.log"))).isEqualTo(before);
    }

    /**
     * H43 F5: a file at a failed leg's path that cannot be one of the mirror's legs (smaller than the
     * mirror, or not whole sectors) kept the whole mirror down ("the legs now give 2048 sectors"); it
     * is left out as a missing one is, and the mirror opens with the leg failed.
     */
    @Test
    void aFileTooSmallOrNotWholeSectorsAtAFailedLegsPathIsLeftOut() throws Exception {
        byte[] data = random(SECTORS * 512, 35);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), data);
        Path log = dir.resolve("m.log");
        fixture.mirror(log, List.of(a, b), List.of(fixture.leg(a, null), fixture.leg(b, null)));
        fixture.log.setState(1, LegState.FAILED, "injected");
        fixture.closeDevices();
        Map<String, Object> props = files("m", log, a, b, Mirror.CONFIG_REGION_LOG_ID, MirrorFixture.LOG_ID.toString());

        for (int bytes : new int[] {1 << 20, SECTORS * 512 + 100}) {
            Files.delete(b);
            Files.write(b, new byte[bytes]);
            MirrorComponent c = activate(props);

            LegStatus leg = mirror().status().legs().get(1);
            assertThat(leg.state()).isEqualTo(LegState.FAILED);
            assertThat(leg.failure()).startsWith("injected; not opened at this start (it ")
                    .endsWith(bytes == 1 << 20 ? "is 2048 sectors, the mirror " + SECTORS + ")"
                            : "is " + (SECTORS * 512 + 100) + " bytes, not whole sectors)");
            assertThat(read(mirror().device())).isEqualTo(data);
            deactivate(c);
            assertThat(Files.size(b)).as("left as it was").isEqualTo(bytes);
        }
    }

    @Test
    void formatMakesALogOverAFileThatHoldsNoKcopydRegionLog() throws Exception {
        byte[] data = random(SECTORS * 512, 4);
        framework.devices.put("a", fixture.leg(dir.resolve("a.img"), data));
        Files.write(dir.resolve("b.img"), random(SECTORS * 512, 5));
        Path garbage = Files.write(dir.resolve("garbage.bin"), random(64 * 1024, 6));

        activate(config(garbage, Mirror.CONFIG_FORMAT, true));

        Mirror m = mirror();
        assertThat(framework.configurations.get(PID)).containsEntry(Mirror.CONFIG_REGION_LOG_ID,
                m.regionLogId().toString()).doesNotContainKey(Mirror.CONFIG_FORMAT);
        awaitInSync(m);
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).isEqualTo(data);
    }

    /** The way to write a configuration file: a new identity with format=true makes the log once, then adopts it. */
    @Test
    void formatWithANewIdentityMakesTheLogWithItSoTheSameConfigurationAdoptsIt() throws Exception {
        byte[] data = random(SECTORS * 512, 7);
        framework.devices.put("a", fixture.leg(dir.resolve("a.img"), data));
        Files.write(dir.resolve("b.img"), random(SECTORS * 512, 8));
        Path log = dir.resolve("m.log");
        String id = UUID.randomUUID().toString();
        Map<String, Object> file = config(log, Mirror.CONFIG_FORMAT, true, Mirror.CONFIG_REGION_LOG_ID, id);

        MirrorComponent c = activate(file);
        assertThat(mirror().regionLogId().toString()).isEqualTo(id);
        awaitInSync(mirror());
        deactivate(c);

        activate(file);
        assertThat(mirror().regionLogId().toString()).isEqualTo(id);
        assertThat(mirror().status().regionsResynced()).as("adopted: nothing to resync").isZero();
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).isEqualTo(data);
    }
}
