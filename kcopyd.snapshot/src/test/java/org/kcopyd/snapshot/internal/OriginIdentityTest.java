package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;

/**
 * An origin's fingerprint sees both ends of the origin (its identity: DeviceIdentityTest).
 */
class OriginIdentityTest {

    @TempDir
    Path dir;

    @Test
    void theFingerprintSeesBothEndsOfTheOriginAndNothingBetween() throws Exception {
        Path file = Files.write(dir.resolve("o.img"), pattern(1024 * 512, 1));
        byte[] before = fingerprint(file);

        assertThat(fingerprint(file)).as("read again").isEqualTo(before);
        poke(file, 512 * 512);
        assertThat(fingerprint(file)).as("the middle").isEqualTo(before);
        poke(file, 0);
        byte[] head = fingerprint(file);
        assertThat(head).isNotEqualTo(before);
        poke(file, 1024 * 512 - 1);
        assertThat(fingerprint(file)).isNotEqualTo(head);

        Path tiny = Files.write(dir.resolve("tiny.img"), pattern(3 * 512, 2));
        assertThat(fingerprint(tiny)).hasSize(OriginIdentity.FINGERPRINT_BYTES);
    }

    private static byte[] fingerprint(Path file) throws IOException {
        try (BlockDevice device = SnapshotFixture.FILES.open(file)) {
            return OriginIdentity.fingerprint(device);
        }
    }

    private static void poke(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0xff);
        }
    }
}
