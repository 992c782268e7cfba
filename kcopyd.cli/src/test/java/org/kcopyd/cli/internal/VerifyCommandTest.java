package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.UriProviders;
import org.kcopyd.testdevices.ForwardingDevice;
import org.kcopyd.testdevices.MemoryUriProvider;

/**
 * {@code copy --verify}: good copies are verified ok; a destination corrupted behind the engine's
 * back is exit 5 with its first differing sector exactly (absolute on it), the others ok; a
 * destination the copy failed is skipped; O_DIRECT refused falls back to the page cache and says
 * so; a device named by URI is verified through its device; a source that cannot be read back
 * leaves the destinations unverified, exit 3.
 */
class VerifyCommandTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void aGoodCopyIsVerifiedOkForEveryDestinationInWordsAndJson() throws IOException {
        Path src = image(dir, "src.img", 3 * MIB + 700, 1);
        image(dir, "old.img", 4 * MIB, 2);

        assertThat(fixture.run("copy", src.toString(), p("new.img"), p("old.img"), "--verify", "--flush")).isZero();
        assertThat(fixture.run("copy", src.toString(), p("new2.img"), p("old.img") + ":100", "--verify", "--json"))
                .isZero();

        byte[] data = Files.readAllBytes(src);
        assertThat(Files.readAllBytes(dir.resolve("new.img"))).isEqualTo(data);
        String out = fixture.out();
        assertThat(out.lines().toList()).hasSize(4);
        assertThat(out.lines().toList().subList(1, 3)).containsExactly(
                "verified " + p("new.img") + ": identical to the source (read back: O_DIRECT)",
                "verified " + p("old.img") + ": identical to the source (read back: O_DIRECT)");
        assertThat(out).contains("\"result\":\"ok\"")
                .contains("\"path\":\"" + p("new2.img") + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"ok\",\"readBack\":\"O_DIRECT\"}}")
                .contains("\"path\":\"" + p("old.img") + "\",\"sector\":100,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"ok\",\"readBack\":\"page cache: the region starts at byte 51200, "
                        + "not a multiple of the 4096-byte blocks O_DIRECT needs\"}}")
                .contains("\"verifySeconds\":");
        assertThat(fixture.err()).isEmpty();
    }

    @Test
    void aDestinationCorruptedBehindTheEnginesBackIsExit5WithItsFirstDifferingSector() throws IOException {
        Path src = image(dir, "src.img", 5 * MIB + 1536, 3);
        image(dir, "c.img", 6 * MIB, 4);
        Path b = dir.resolve("b.img");
        Path c = dir.resolve("c.img");
        Files.write(b, new byte[6 * MIB]);
        // b: byte 1234567 is in sector 2411; c from sector 64: its byte 64 * 512 + 3000000 is in sector 64 + 5859.
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(), Map.of(
                b, d -> new TestOpeners.FlipAfterWrite(d, 1234567),
                c, d -> new TestOpeners.FlipAfterWrite(d, 64 * 512 + 3000000)), Map.of(), false);

        int code = fixture.run("copy", src.toString(), p("a.img"), b.toString(), c + ":64", "--verify", "--json");

        assertThat(code).isEqualTo(Exit.VERIFY_FAILED);
        assertThat(fixture.out()).startsWith("{\"result\":\"error\",\"exitCode\":5,\"message\":\"verification failed: "
                + b + " differs from the source at sector 2411\",")
                .contains("\"path\":\"" + p("a.img") + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"ok\",\"readBack\":\"O_DIRECT\"}}")
                .contains("\"path\":\"" + b + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"mismatch\",\"firstDifferentSector\":2411,\"readBack\":\"O_DIRECT\"}}")
                .contains("\"path\":\"" + c + "\",\"sector\":64,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"mismatch\",\"firstDifferentSector\":5923,\"readBack\":\"O_DIRECT\"}}");
        assertThat(fixture.err()).isEmpty();

        fixture.out.getBuffer().setLength(0);
        Files.delete(dir.resolve("a.img"));
        assertThat(fixture.run("copy", src.toString(), p("a.img"), b.toString(), "--verify")).isEqualTo(5);
        assertThat(fixture.err()).isEqualTo("kcopyd copy: " + b + ": verify: differs from the source at sector 2411 "
                + "(read back: O_DIRECT)\n");
        assertThat(fixture.out()).contains("verified " + p("a.img") + ": identical to the source (read back: O_DIRECT)");
    }

    @Test
    void aDestinationRemovedOrReplacedWhileCopiedIsExit5NotVerifiedThroughTheDeviceThatWroteIt()
            throws IOException {
        Path src = image(dir, "src.img", 2 * MIB, 11);
        Path a = dir.resolve("a.img");
        Path b = image(dir, "b.img", 2 * MIB, 12);
        Path other = image(dir, "other.img", 2 * MIB, 13);
        byte[] otherData = Files.readAllBytes(other);
        // a (new) is removed, and another file is renamed over b, once the first MiB has been written to them.
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(), Map.of(
                a, d -> new TestOpeners.AfterWrite(d, MIB, () -> Files.delete(a)),
                b, d -> new TestOpeners.AfterWrite(d, MIB, () -> Files.move(other, b,
                        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING))), Map.of(), false);

        int code = fixture.run("copy", src.toString(), a.toString(), b.toString(), p("c.img"), "--verify", "--json");

        assertThat(code).isEqualTo(Exit.VERIFY_FAILED);
        assertThat(fixture.out()).startsWith("{\"result\":\"error\",\"exitCode\":5,\"message\":\"verification failed: "
                + a + " could not be read back: it was removed while kcopyd used it\",")
                .contains("\"path\":\"" + a + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"error\",\"reason\":\"could not be read back: it was removed while "
                        + "kcopyd used it\"}}")
                .contains("\"path\":\"" + b + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"error\",\"reason\":\"could not be read back: it was replaced by "
                        + "another file while kcopyd used it\"}}")
                .contains("\"path\":\"" + p("c.img") + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"ok\",\"readBack\":\"O_DIRECT\"}}");
        assertThat(Files.exists(a)).isFalse();
        assertThat(Files.readAllBytes(b)).as("the file that took b's name, untouched").isEqualTo(otherData);
    }

    @Test
    void withDirectADestinationRemovedWhileCopiedIsExit5Too() throws IOException {
        Path src = image(dir, "src.img", 2 * MIB, 14);
        Path a = dir.resolve("a.img");
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(),
                Map.of(a, d -> new TestOpeners.AfterWrite(d, MIB, () -> Files.delete(a))), Map.of(), false);

        int code = fixture.run("copy", src.toString(), a.toString(), "--verify", "--direct");

        assertThat(code).isEqualTo(Exit.VERIFY_FAILED);
        assertThat(fixture.err()).isEqualTo("kcopyd copy: " + a + ": verify: could not be read back: it was removed "
                + "while kcopyd used it\n");
        assertThat(fixture.out()).startsWith("copied 2.0 MiB from " + src);
    }

    @Test
    void withoutVerifyTheSameCorruptionGoesUnnoticed() throws IOException {
        Path src = image(dir, "src.img", MIB, 5);
        Path b = dir.resolve("b.img");
        Files.write(b, new byte[MIB]);
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(),
                Map.of(b, d -> new TestOpeners.FlipAfterWrite(d, 777)), Map.of(), false);

        assertThat(fixture.run("copy", src.toString(), b.toString())).isZero();

        assertThat(Files.readAllBytes(b)).isNotEqualTo(Files.readAllBytes(src));
    }

    @Test
    void aDestinationTheCopyFailedIsSkippedAndTheOthersVerified() throws IOException {
        Path src = image(dir, "src.img", 2 * MIB, 6);
        Path bad = dir.resolve("bad.img");
        Files.write(bad, new byte[2 * MIB]);
        fixture.failing(bad, 100, new IOException("EIO"));

        int code = fixture.run("copy", src.toString(), p("good.img"), bad.toString(), "--verify", "--ignore-errors",
                "--json");

        assertThat(code).isEqualTo(Exit.WRITE_ERROR);
        assertThat(fixture.out())
                .contains("\"path\":\"" + p("good.img") + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"ok\",\"readBack\":\"O_DIRECT\"}}")
                .contains("\"state\":\"failed\",\"verify\":{\"state\":\"skipped\",\"reason\":\"not verified: the copy "
                        + "left it failed\"}}");
    }

    @Test
    void whereODirectIsRefusedTheDestinationIsReadThroughThePageCacheAndTheReportSaysSo() throws IOException {
        Path src = image(dir, "src.img", MIB + 100, 7);
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(), Map.of(), Map.of(), true);

        assertThat(fixture.run("copy", src.toString(), p("a.img"), "--verify", "--json")).isZero();

        assertThat(fixture.out()).contains("\"verify\":{\"state\":\"ok\",\"readBack\":\"page cache: O_DIRECT refused ("
                + p("a.img") + ": Invalid argument)\"}");
        assertThat(Files.readAllBytes(dir.resolve("a.img"))).isEqualTo(Files.readAllBytes(src));
    }

    @Test
    void aDeviceNamedByUriIsVerifiedThroughItsDeviceAndASourceOfLessThanASectorByItsBytes() throws IOException {
        MemoryUriProvider mem = new MemoryUriProvider();
        UriProviders uris = new UriProviders();
        uris.add(mem, mem.schemes(), 0, 1, "the test's mem provider");
        fixture.opener = new FileDeviceOpener(false, "open for writing through kcopyd", uris);
        Path src = image(dir, "src.img", MIB, 8);
        Path small = image(dir, "small.img", 300, 9);
        mem.add("disk", 2 * MIB, new byte[0]);

        assertThat(fixture.run("copy", src.toString(), "mem://disk/:2048", p("a.img"), "--verify", "--json")).isZero();
        assertThat(fixture.run("copy", small.toString(), p("s.img"), "--verify", "--json")).isZero();

        assertThat(fixture.out()).contains("\"path\":\"mem://disk/\",\"sector\":2048,\"error\":null,"
                + "\"state\":\"complete\",\"verify\":{\"state\":\"ok\",\"readBack\":\"through the device named by URI\"}}")
                .contains("\"path\":\"" + p("s.img") + "\",\"sector\":0,\"error\":null,\"state\":\"complete\","
                        + "\"verify\":{\"state\":\"ok\",\"readBack\":\"O_DIRECT\"}}");
    }

    @Test
    void aUriDestinationCorruptedBehindTheEnginesBackIsFoundThroughTheSameDevice() throws IOException {
        MemoryUriProvider mem = new MemoryUriProvider();
        UriProviders uris = new UriProviders();
        UriDeviceProvider flipping = new UriDeviceProvider() {
            @Override
            public Set<String> schemes() {
                return Set.of("flip");
            }

            @Override
            public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
                return new TestOpeners.FlipAfterWrite(mem.open(uri, options), 2048L * 512 + 600000);
            }
        };
        uris.add(flipping, flipping.schemes(), 0, 2, "a provider corrupting what it is given");
        uris.add(mem, mem.schemes(), 0, 1, "the test's mem provider");
        fixture.opener = new FileDeviceOpener(false, "open for writing through kcopyd", uris);
        Path src = image(dir, "src.img", MIB, 10);
        mem.add("disk", 2 * MIB, new byte[0]);

        assertThat(fixture.run("copy", src.toString(), "flip://disk/:2048", "--verify")).isEqualTo(5);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: flip://disk/: verify: differs from the source at sector "
                + (2048 + 600000 / 512) + " (read back: through the device named by URI)\n");
    }

    @Test
    void aSourceThatFailsOnlyWhenReadBackIsExit3NotVerifiedRatherThanADestinationVerdict() throws IOException {
        MemoryUriProvider mem = new MemoryUriProvider();
        byte[] data = new byte[MIB];
        new java.util.Random(12).nextBytes(data);
        mem.add("src", data);
        java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
        // Every byte is read once by the copy; the read-back's reads fail.
        mem.put("once", new ForwardingDevice(mem.open(URI.create("mem://src"))) {
            @Override
            public CompletionStage<Void> read(long sector, ByteBuffer dst) {
                if (read.getAndAdd(dst.remaining()) >= MIB) {
                    return CompletableFuture.failedStage(new IOException("EIO at sector " + sector));
                }
                return super.read(sector, dst);
            }
        });
        UriProviders uris = new UriProviders();
        uris.add(mem, mem.schemes(), 0, 1, "the test's mem provider");
        fixture.opener = new FileDeviceOpener(false, "open for writing through kcopyd", uris);

        assertThat(fixture.run("copy", "mem://once", p("a.img"), "--verify", "--json")).isEqualTo(Exit.READ_ERROR);

        assertThat(Files.readAllBytes(dir.resolve("a.img"))).isEqualTo(data);
        assertThat(fixture.out()).contains("\"exitCode\":3,\"message\":\"verification incomplete: " + p("a.img")
                + " not verified: the source could not be read back: ")
                .contains("\"state\":\"complete\",\"verify\":{\"state\":\"unverified\",\"reason\":\"not verified: "
                        + "the source could not be read back: ");
    }
}
