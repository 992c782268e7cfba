package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.SnapshotRequest;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.snapshot.Snapshot;

class SnapshotRulesTest {

    @TempDir
    Path dir;
    private Path origin;
    private Path cow;

    @BeforeEach
    void files() throws IOException {
        origin = Files.write(dir.resolve("origin.img"), new byte[4096]);
        cow = dir.resolve("s1.cow");
    }

    private SnapshotRequest request(String name, String originValue, String cowValue) {
        return new SnapshotRequest(name, originValue, cowValue, null, null, null, false, null);
    }

    private static void refused(SnapshotRequest r, ControlException.Code code, String... parts) {
        assertThatThrownBy(() -> SnapshotRules.check(r)).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(code)).hasMessageContainingAll(parts);
    }

    @Test
    void aGoodRequestBecomesTheConfigurationWithDefaults() {
        Hashtable<String, Object> p = SnapshotRules.check(request("s1", origin.toString(), cow.toString()));
        assertThat(p).containsEntry(Snapshot.CONFIG_NAME, "s1").containsEntry(Snapshot.CONFIG_ORIGIN, origin.toString())
                .containsEntry(Snapshot.CONFIG_COW_STORE, cow.toString()).containsEntry(Snapshot.CONFIG_CHUNK_SECTORS, 16)
                .containsEntry(Snapshot.CONFIG_COW_STORE_SIZE_MIB, 1024).doesNotContainKey(Snapshot.CONFIG_FORMAT);
    }

    @Test
    void aDeviceUriOriginIsKeptAsGivenAndAFileUriIsItsFile() {
        Hashtable<String, Object> p = SnapshotRules.check(request("s1", "nbd+unix:///disk?socket=/run/a.sock",
                cow.toString()));
        assertThat(p).containsEntry(Snapshot.CONFIG_ORIGIN, "nbd+unix:///disk?socket=/run/a.sock");
        Hashtable<String, Object> f = SnapshotRules.check(request("s1", origin.toUri().toString(), cow.toString()));
        assertThat(f).containsEntry(Snapshot.CONFIG_ORIGIN, origin.toString());
        refused(request("s1", "nbd://bad host/x", cow.toString()), ControlException.Code.BAD_REQUEST, "origin",
                "not a valid URI");
        refused(request("s1", "mirror:m6", cow.toString()), ControlException.Code.BAD_REQUEST,
                "origin 'mirror:m6' names a device of this daemon: a snapshot's origin is a file, a block device or a "
                + "device URI");
        refused(request("s1", "file://elsewhere/x.img", cow.toString()), ControlException.Code.BAD_REQUEST,
                "names a file on host 'elsewhere'");
    }

    /**
     * Hostile review: a chunk size out of range did not name the allowed values clearly ("chunkSectors 4 is not a
     * power of two in 8..2048", where 4 is one): the refusal names the value, the range as kcopyd.snapshot words
     * it, and every value kcopyd.snapshot accepts.
     */
    @Test
    void aChunkSizeIsRefusedNamingTheValueTheRangeAndEveryAllowedValue() {
        for (int n : new int[] {4, 0, -16, 24, 4096, Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> SnapshotRules.check(new SnapshotRequest("s1", origin.toString(), cow.toString(), n,
                    null, null, false, null))).isInstanceOfSatisfying(ControlException.class,
                            e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST))
                    .hasMessage("chunkSectors " + n + " is not a power of two in 8..2048 (8, 16, 32, 64, 128, 256, 512, "
                            + "1024 or 2048 sectors)");
        }
        for (int n = 8; n <= 2048; n *= 2) {
            assertThat(SnapshotRules.check(new SnapshotRequest("s1", origin.toString(), cow.toString(), n, null, null,
                    false, null))).containsEntry(Snapshot.CONFIG_CHUNK_SECTORS, n);
        }
    }

    @Test
    void namesSizesAndIdentitiesFollowTheCommandLinesRules() {
        refused(request("..", origin.toString(), cow.toString()), ControlException.Code.BAD_REQUEST,
                "snapshot name '..' is not allowed", "1 to 64 characters");
        refused(request("a/b", origin.toString(), cow.toString()), ControlException.Code.BAD_REQUEST, "'a/b'");
        refused(new SnapshotRequest("s1", origin.toString(), cow.toString(), null, 0, null, false, null),
                ControlException.Code.BAD_REQUEST, "cowStoreSizeMiB 0 is outside 1..16777216");
        refused(new SnapshotRequest("s1", origin.toString(), cow.toString(), null, null, "nope", false, null),
                ControlException.Code.BAD_REQUEST, "cowStoreId 'nope' is not a UUID");
        refused(new SnapshotRequest("s1", origin.toString(), cow.toString(), null, null,
                "123e4567-e89b-12d3-a456-426614174000", true, null), ControlException.Code.BAD_REQUEST,
                "exclude each other");
        refused(new SnapshotRequest("s1", origin.toString(), cow.toString(), null, null,
                "123e4567-e89b-12d3-a456-426614174000", false, null), ControlException.Code.BAD_REQUEST,
                "does not exist; cowStoreId reopens an existing store");
        refused(new SnapshotRequest("s1", origin.toString(), cow.toString(), null, null, null, false, " "),
                ControlException.Code.BAD_REQUEST, "originId is empty");
    }

    @Test
    void pathsMustBeAbsoluteAndUsableDevices() throws IOException {
        refused(request("s1", "origin.img", cow.toString()), ControlException.Code.BAD_REQUEST,
                "origin 'origin.img' is a relative path");
        refused(request("s1", origin.toString(), "s1.cow"), ControlException.Code.BAD_REQUEST, "cowStore 's1.cow'");
        refused(request("s1", dir.resolve("none.img").toString(), cow.toString()), ControlException.Code.FAILED,
                "cannot open origin", "no such file");
        refused(request("s1", dir.toString(), cow.toString()), ControlException.Code.BAD_REQUEST, "is a directory");
        refused(request("s1", null, cow.toString()), ControlException.Code.BAD_REQUEST, "origin is missing");
        refused(request("s1", origin.toString(), origin.toString()), ControlException.Code.BAD_REQUEST,
                "is the origin", "itself");
        Files.createSymbolicLink(cow, dir.resolve("nowhere"));
        refused(request("s1", origin.toString(), cow.toString()), ControlException.Code.BAD_REQUEST,
                "symbolic link to nothing");
        refused(request("s1", origin.toString(), dir.resolve("no-dir/s.cow").toString()),
                ControlException.Code.BAD_REQUEST, "does not exist");
    }

    /**
     * H36: a path with half of a surrogate pair was shown as '?' (not what was sent) and refused in Java's
     * words ("Malformed input or input contains unmappable characters", "Nul character not allowed").
     */
    @Test
    void aPathNoFileNameCanHoldIsRefusedShowingWhatWasSentInTheApisWords() {
        String lone = dir + "/s\ud800.cow";
        assertThatThrownBy(() -> SnapshotRules.absolute("cowStore", lone)).hasMessage("cowStore '"
                + dir + "/s\\ud800.cow' is not a path: it holds a character this system's file names "
                + "cannot (such as half of a UTF-16 surrogate pair)");
        assertThatThrownBy(() -> SnapshotRules.absolute("cowStore", "/tmp/a\u0000.cow")).hasMessage("cowStore "
                + "'/tmp/a\\u0000.cow' is not a path: it holds a NUL character (\\u0000), which no path can");
        assertThat(Text.printable("a\ud83d\ude00b\udc00")).isEqualTo("a\ud83d\ude00b\\udc00");
    }

    @Test
    void aClaimedCowStoreIsAConflict() throws IOException {
        Path other = Files.write(dir.resolve("other.img"), new byte[4096]);
        try (FileClaim claim = FileClaims.claim(other, "the COW store of snapshot s0")) {
            refused(request("s1", origin.toString(), other.toString()), ControlException.Code.CONFLICT,
                    other.toString(), "is the COW store of snapshot s0");
        }
    }
}
