package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;

/** The version 3 header keeps the origin's identity exactly and fits a long path and reason into its sector. */
class CowHeaderTest {

    private static final UUID ID = UUID.fromString("123e4567-e89b-12d3-a456-426614174000");

    private static CowHeader roundTrip(CowHeader h) {
        return CowHeader.parse(h.encode().clear());
    }

    @Test
    void everyFieldSurvivesEncoding() {
        byte[] seen = new byte[OriginIdentity.FINGERPRINT_BYTES];
        seen[3] = 7;
        CowHeader h = roundTrip(new CowHeader(false, true, 32, 8192, ID, 3, "COW store full", "file:dev=8:1:ino=12",
                "/srv/o.img", seen));

        assertThat(h.usable()).isTrue();
        assertThat(h.valid()).isFalse();
        assertThat(h.merging()).isTrue();
        assertThat(h.chunkSectors()).isEqualTo(32);
        assertThat(h.originSectors()).isEqualTo(8192);
        assertThat(h.id()).isEqualTo(ID);
        assertThat(h.areas()).isEqualTo(3);
        assertThat(h.invalidReason()).isEqualTo("COW store full");
        assertThat(h.originId()).isEqualTo("file:dev=8:1:ino=12");
        assertThat(h.originPath()).isEqualTo("/srv/o.img");
        assertThat(h.originSeen()).isEqualTo(seen);
        assertThat(roundTrip(new CowHeader(true, false, 16, 8, ID, 1, null, "block:dev=8:16", "/dev/sdb", null))
                .originSeen()).isNull();
    }

    /** The snapshot's view fingerprint survives encoding, and the longest texts leave it whole. */
    @Test
    void theViewFingerprintSurvivesEncodingBesideTheLongestTexts() {
        byte[] view = new byte[OriginIdentity.FINGERPRINT_BYTES];
        view[0] = 9;
        view[15] = -1;
        String identity = "block:" + "w".repeat(DeviceIdentity.MAX_LENGTH - 6);
        CowHeader h = roundTrip(new CowHeader(false, false, 16, 8, ID, 1, "x".repeat(600), identity,
                "/" + "p".repeat(300), null, null, false, view));
        assertThat(h.viewSeen()).isEqualTo(view);
        assertThat(h.invalidReason()).startsWith("xxx");
        assertThat(roundTrip(new CowHeader(true, false, 16, 8, ID, 1, null, "block:dev=8:16", "/dev/sdb", null))
                .viewSeen()).as("none recorded").isNull();
    }

    @Test
    void aLongPathKeepsItsEndAndALongReasonItsStartWhileTheIdentityStaysWhole() {
        String identity = "block:" + "w".repeat(DeviceIdentity.MAX_LENGTH - 6);
        String path = "/dev/disk/by-id/" + "é".repeat(300) + "-part1";
        String reason = "copying chunk 7 to the COW store failed: " + "x".repeat(600);

        CowHeader h = roundTrip(new CowHeader(false, false, 16, 8, ID, 1, reason, identity, path, null));

        assertThat(h.originId()).isEqualTo(identity);
        assertThat(h.originPath()).startsWith("...").endsWith("é-part1");
        assertThat(h.originPath().getBytes(StandardCharsets.UTF_8)).hasSizeLessThanOrEqualTo(CowHeader.MAX_PATH);
        assertThat(h.invalidReason()).startsWith("copying chunk 7 to the COW store failed: xxx");
        assertThat(identity.length() + h.originPath().getBytes(StandardCharsets.UTF_8).length
                + h.invalidReason().length()).isLessThanOrEqualTo(508 - CowHeader.STRINGS_AT);
    }

    @Test
    void aStoreOfVersion2StaysVersion2UntilItsOriginIsConfirmed() {
        ByteBuffer b = new CowHeader(false, false, 16, 8, ID, 1, "COW store full", null, null, null).encode();

        assertThat(b.getInt(8)).isEqualTo(2);
        CowHeader h = CowHeader.parse(b.clear());
        assertThat(h.usable()).isTrue();
        assertThat(h.originId()).isNull();
        assertThat(h.invalidReason()).isEqualTo("COW store full");
    }

    @Test
    void lengthsThatCannotBeRightUnderACorrectChecksumAreAStoreNotToFormat() {
        ByteBuffer b = new CowHeader(true, false, 16, 8, ID, 1, null, "file:dev=8:1:ino=12", "/o", null).encode();
        b.putInt(60, 0);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 508);
        b.putInt(508, (int) crc.getValue());

        CowHeader h = CowHeader.parse(b.clear());

        assertThat(h.usable()).isFalse();
        assertThat(h.formattable()).isFalse();
        assertThat(h.problem()).contains("has a correct checksum but an origin identity length of 0");
    }
}
