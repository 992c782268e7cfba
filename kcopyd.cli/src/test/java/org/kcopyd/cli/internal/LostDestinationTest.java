package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A destination removed, or replaced by another file, while {@code copy} writes it is a failed
 * destination (exit 4), not a success: what kcopyd wrote is not at its name. The other
 * destinations stay complete: the job itself went to the end. (With {@code --verify} the
 * read-back reports it, exit 5: VerifyCommandTest.) The same for {@code zero}.
 */
class LostDestinationTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aDestinationRemovedOrReplacedWhileWrittenFailsTheCopy() throws IOException {
        Path src = image(dir, "src.img", 2 * MIB, 21);
        Path a = dir.resolve("a.img");
        Path b = image(dir, "b.img", 2 * MIB, 22);
        Path c = dir.resolve("c.img");
        Path other = image(dir, "other.img", 2 * MIB, 23);
        byte[] otherData = Files.readAllBytes(other);
        removeAndReplaceOnceWritten(a, b, other);

        int code = fixture.run("copy", src.toString(), a.toString(), b.toString(), c.toString(), "--json");

        assertThat(code).isEqualTo(Exit.WRITE_ERROR);
        assertLostAndKept(a, b, c, otherData);
        assertThat(c).hasSameBinaryContentAs(src);
    }

    @Test
    void aRegionRemovedOrReplacedWhileZeroedFailsTheZero() throws IOException {
        Path a = image(dir, "a.img", 2 * MIB, 31);
        Path b = image(dir, "b.img", 2 * MIB, 32);
        Path c = image(dir, "c.img", 2 * MIB, 33);
        Path other = image(dir, "other.img", 2 * MIB, 34);
        byte[] otherData = Files.readAllBytes(other);
        removeAndReplaceOnceWritten(a, b, other);

        int code = fixture.run("zero", a.toString(), b.toString(), c.toString(), "--json");

        assertThat(code).isEqualTo(Exit.WRITE_ERROR);
        assertLostAndKept(a, b, c, otherData);
        assertThat(Files.readAllBytes(c)).as("c zeroed").containsOnly((byte) 0);
    }

    /** After the first MiB written to each: {@code removed} is deleted, {@code replaced} replaced by {@code by}. */
    private void removeAndReplaceOnceWritten(Path removed, Path replaced, Path by) {
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(), Map.of(
                removed, d -> new TestOpeners.AfterWrite(d, MIB, () -> Files.delete(removed)),
                replaced, d -> new TestOpeners.AfterWrite(d, MIB, () -> Files.move(by, replaced,
                        StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING))), Map.of(), false);
    }

    /** The JSON report: {@code a} removed and {@code b} replaced, both failed; {@code c} complete. */
    private void assertLostAndKept(Path a, Path b, Path c, byte[] bNow) throws IOException {
        assertThat(fixture.out()).startsWith("{\"result\":\"error\",\"exitCode\":4,\"message\":\"writing " + a
                + " failed: it was removed while kcopyd wrote it; what was written is not at that name\",")
                .contains("\"path\":\"" + b + "\",\"sector\":0,\"error\":\"it was replaced by another file while kcopyd "
                        + "wrote it; what was written is not at that name\",\"state\":\"failed\"")
                .contains("\"path\":\"" + c + "\",\"sector\":0,\"error\":null,\"state\":\"complete\"");
        assertThat(a).doesNotExist();
        assertThat(Files.readAllBytes(b)).as("the file that took b's name, untouched").isEqualTo(bNow);
    }
}
