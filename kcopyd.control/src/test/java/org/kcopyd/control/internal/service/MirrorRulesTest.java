package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.mirror.Mirror;

class MirrorRulesTest {

    @TempDir
    Path dir;
    private Path a;
    private Path b;
    private Path log;

    @BeforeEach
    void files() throws IOException {
        a = Files.write(dir.resolve("a.img"), new byte[4096]);
        b = Files.write(dir.resolve("b.img"), new byte[4096]);
        log = dir.resolve("m1.log");
    }

    private MirrorRequest request(List<String> legs) {
        return new MirrorRequest("m1", legs, log.toString(), null, null, null, false);
    }

    private static void refused(MirrorRequest r, String... parts) {
        assertThatThrownBy(() -> MirrorRules.check(r)).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST)).hasMessageContainingAll(parts);
    }

    @Test
    void aGoodRequestBecomesTheConfigurationWithDefaults() {
        Hashtable<String, Object> p = MirrorRules.check(request(List.of(a.toString(), "nbd://host/x", "service:dev")));
        assertThat((String[]) p.get(Mirror.CONFIG_LEGS)).containsExactly(a.toString(), "nbd://host/x", "service:dev");
        assertThat(p).containsEntry(Mirror.CONFIG_REGION_LOG, log.toString())
                .containsEntry(Mirror.CONFIG_REGION_SECTORS, Mirror.DEFAULT_REGION_SECTORS)
                .containsEntry(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, 0L);
    }

    @Test
    void legsFollowTheCommandLinesRules() throws IOException {
        refused(request(List.of(a.toString())), "1 legs given", "2 to 16");
        refused(request(List.of(a.toString(), a.toString())), "leg 1", "is leg 0");
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), a);
        refused(request(List.of(a.toString(), link.toString())), "leg 1", "is leg 0");
        refused(request(List.of("nbd://host/x", "NBD://HOST:10809/x")), "leg 1", "is leg 0");
        refused(request(List.of(a.toString(), "b.img")), "leg 1 'b.img' is a relative path");
        refused(request(List.of(a.toString(), "service:")), "names no device service");
        refused(request(List.of(a.toString(), dir.toString())), "is a directory");
        // H48-8: a file that is not there cannot be opened: FAILED (exit 1), as copy's, not a bad argument (exit 2).
        assertThatThrownBy(() -> MirrorRules.check(request(List.of(a.toString(), b.toString(), log.toString()))))
                .isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(ControlException.Code.FAILED))
                .hasMessageContaining("cannot open leg 2");
        Files.write(log, new byte[512]);
        refused(request(List.of(a.toString(), log.toString())), "the region log must be a file of its own");
        refused(request(List.of(a.toString(), "nbd://host/" + "x".repeat(300))), "leg 1 is 311 bytes long, at most 256");
    }

    @Test
    void sizesAndIdentitiesAreChecked() {
        refused(new MirrorRequest("m1", List.of(a.toString(), b.toString()), log.toString(), 1000, null, null, false),
                "regionSectors 1000 is not allowed");
        refused(new MirrorRequest("m1", List.of(a.toString(), b.toString()), log.toString(), null, 100L, null, false),
                "throttleBytesPerSecond 100 is not allowed");
        refused(new MirrorRequest("m1", List.of(a.toString(), b.toString()), log.toString(), null, null, "x", false),
                "regionLogId 'x' is not a UUID");
        refused(new MirrorRequest("m1", List.of(a.toString(), b.toString()), log.toString(), null, null,
                "123e4567-e89b-12d3-a456-426614174000", false), "no region log at");
        refused(new MirrorRequest("..", List.of(a.toString(), b.toString()), log.toString(), null, null, null, false),
                "mirror name '..' is not allowed");
        refused(new MirrorRequest("m1", List.of(a.toString(), b.toString()), "m1.log", null, null, null, false),
                "regionLog 'm1.log' is a relative path");
    }

    /** H44 F7: the leg being replaced keeps the other legs' numbers in the refusal ("leg 2 X is leg 2 X"). */
    @Test
    void aReplacementThatIsAnotherLegNamesThatLegsNumber() {
        java.util.List<String> others = java.util.Arrays.asList("nbd://h/a", null, "nbd://h/c");

        assertThatThrownBy(() -> MirrorRules.leg(1, "NBD://h/c", dir.resolve("m.log"), others))
                .isInstanceOf(ControlException.class).hasMessage("leg 1 NBD://h/c is leg 2 nbd://h/c already");
    }
}
