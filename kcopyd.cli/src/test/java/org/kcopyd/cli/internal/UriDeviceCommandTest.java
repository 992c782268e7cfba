package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.device.UriProviders;
import org.kcopyd.testdevices.ForwardingDevice;
import org.kcopyd.testdevices.MemoryUriProvider;
import org.kcopyd.testdevices.TailedDevice;

/**
 * copy and zero with devices named by URI, through a real provider of the {@code mem} scheme: data
 * really flows; a URI destination is never created and must be large enough; an unknown scheme is
 * exit 2 with the opener's words, a provider's failure to connect exit 1 with its words; one URI
 * may appear once per command; nothing is created or written when refused.
 */
class UriDeviceCommandTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();
    private final MemoryUriProvider mem = new MemoryUriProvider();

    @BeforeEach
    void providers() {
        UriProviders uris = new UriProviders();
        uris.add(mem, mem.schemes(), 0, 1, "the test's mem provider");
        fixture.opener = new FileDeviceOpener(false, "open for writing through kcopyd", uris);
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private static byte[] random(int bytes, long seed) {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return data;
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void aFileIsCopiedToADeviceNamedByUriAndBackByteForByte() throws IOException {
        Path src = image(dir, "src.img", MIB, 1);
        mem.add("disk", 2 * MIB, new byte[0]);

        assertThat(fixture.run("copy", src.toString(), "mem://disk/:2048")).isZero();
        assertThat(fixture.run("copy", "mem://disk/:2048+2048", p("back.img"), "--json")).isZero();

        assertThat(Arrays.copyOfRange(mem.content("disk", 2 * MIB), MIB, 2 * MIB)).isEqualTo(Files.readAllBytes(src));
        assertThat(mem.content("disk", MIB)).isEqualTo(new byte[MIB]);
        assertThat(Files.readAllBytes(dir.resolve("back.img"))).isEqualTo(Files.readAllBytes(src));
        assertThat(fixture.out()).contains("copied 1.0 MiB from " + src + " to 1 destination")
                .contains("\"result\":\"ok\",\"source\":\"mem://disk/\"")
                .contains("\"destinations\":[{\"path\":\"" + p("back.img") + "\",\"sector\":0,\"error\":null,"
                        + "\"state\":\"complete\"}]");
        assertThat(fixture.err()).isEmpty();
    }

    @Test
    void aUriSourceGoesToSeveralDestinationsFilesAndUrisAlike() throws IOException {
        byte[] data = random(MIB, 2);
        mem.add("src", MIB, data);
        mem.add("a", MIB, new byte[0]);

        assertThat(fixture.run("copy", "mem://src", "mem://a", p("b.img"), "--flush")).isZero();

        assertThat(mem.content("a", MIB)).isEqualTo(data);
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).isEqualTo(data);
    }

    @Test
    void aUriDestinationIsNeverCreatedNorExtendedAndTooSmallIsRefusedNamingBothSizes() throws IOException {
        Path src = image(dir, "src.img", MIB, 3);
        byte[] before = random(MIB / 2, 4);
        mem.add("small", MIB / 2, before);

        assertThat(fixture.run("copy", src.toString(), p("new.img"), "mem://small")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination mem://small has 524288 bytes, too few for the "
                + "source's 1048576 bytes at sectors [0, 2048): a device named by URI is written in place, never "
                + "created or extended\n");
        assertThat(mem.content("small", MIB / 2)).isEqualTo(before);
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void anUnknownSchemeIsExit2WithTheOpenersWordsAndCreatesNothing() throws IOException {
        Path src = image(dir, "src.img", 4096, 5);

        assertThat(fixture.run("copy", "foo://x", p("out.img"))).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", src.toString(), p("out.img"), "nbd+unix:///?socket=/nonexistent.sock"))
                .isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", "--json", src.toString(), "foo://x")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: no device provider for scheme 'foo' in 'foo://x' (known schemes: file, mem)",
                "kcopyd copy: no device provider for scheme 'nbd+unix' in 'nbd+unix:///?socket=/nonexistent.sock' "
                        + "(known schemes: file, mem); install the kcopyd.nbd bundle (outside OSGi: put its jar on the "
                        + "class path)");
        assertThat(fixture.out()).isEqualTo("{\"result\":\"error\",\"exitCode\":2,\"message\":\"no device provider for "
                + "scheme 'foo' in 'foo://x' (known schemes: file, mem)\",\"destinations\":[{\"argument\":\"foo://x\","
                + "\"state\":\"untouched\"}]}\n");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void aProviderThatCannotConnectIsExit1WithItsWordsAndAMalformedUriExit2() throws IOException {
        Path src = image(dir, "src.img", 4096, 6);

        assertThat(fixture.run("copy", "mem://nowhere", p("out.img"))).isEqualTo(Exit.FAILED);
        assertThat(fixture.run("zero", "mem://nowhere")).isEqualTo(Exit.FAILED);
        assertThat(fixture.run("copy", src.toString(), "mem://disk/path")).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", src.toString(), "mem://bad host")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: cannot open mem://nowhere for reading: cannot connect to mem://nowhere: no memory "
                        + "device 'nowhere'",
                "kcopyd zero: cannot open mem://nowhere for writing: cannot connect to mem://nowhere: no memory "
                        + "device 'nowhere'",
                "kcopyd copy: cannot open mem://disk/path: 'mem://disk/path' is not a memory device URI (mem://NAME)",
                "kcopyd copy: destination 'mem://bad host': 'mem://bad host' is not a valid URI: Illegal character in "
                        + "authority at index 6 (a file whose name starts like a URI is written ./NAME:)");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void oneUriMayAppearOncePerCommandHoweverItsSchemeAndHostAreSpelt() throws IOException {
        byte[] data = random(MIB, 7);
        mem.add("d", MIB, data);
        mem.add("e", MIB, new byte[0]);

        assertThat(fixture.run("copy", "mem://d/:0+8", "MEM://D/:8")).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", "mem://d", "mem://e/:0+8", "mem://E/a/../:8+8")).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("zero", "mem://e/:0+8", "mem://e/:8+8")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: destination 'MEM://D/:8' and the source 'mem://d/:0+8' are the same device (the same "
                        + "URI): a device named by URI may appear once per command",
                "kcopyd copy: destinations 'mem://e/:0+8' and 'mem://E/a/../:8+8' are the same device (the same URI): a "
                        + "device named by URI may appear once per command",
                "kcopyd zero: regions 'mem://e/:0+8' and 'mem://e/:8+8' are of the same device (the same URI): a "
                        + "device named by URI may appear once per command");
        assertThat(mem.content("d", MIB)).isEqualTo(data);
        assertThat(mem.content("e", MIB)).isEqualTo(new byte[MIB]);
    }

    @Test
    void oneNbdSocketSpeltTwoWaysIsOneDeviceAndRefusedBeforeAnythingIsOpened() throws IOException {
        Path sock = Files.createFile(dir.resolve("a.sock"));
        String a = "nbd+unix:///?socket=" + sock;
        String b = "nbds+unix://?socket=" + dir + "/./a.sock&tls-certificates=" + dir;

        assertThat(fixture.run("copy", a + ":0+8", b + ":8")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err().lines().toList()).containsExactly("kcopyd copy: destination '" + b + ":8' and the "
                + "source '" + a + ":0+8' are the same device (the same URI): a device named by URI may appear once "
                + "per command");
    }

    @Test
    void aSourceOfPartialSectorsIsRefusedForAUriDestination() throws IOException {
        Path src = image(dir, "odd.img", 1000, 8);
        mem.add("d", 4096, new byte[0]);

        assertThat(fixture.run("copy", src.toString(), "mem://d")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination mem://d is a device named by URI of 4096 bytes, "
                + "written in whole sectors, but the source " + src + " has 1000 bytes, not whole sectors, which would "
                + "end at byte 1000, not at its end; give the source as SRC:SECTOR+COUNT\n");
        assertThat(mem.content("d", 4096)).isEqualTo(new byte[4096]);
    }

    /**
     * A device named by URI whose size is not whole sectors (an NBD export of an odd-sized file, which
     * nbdcopy copies): its last bytes are copied too, both ways, verified, hashed and zeroed; a source
     * of partial sectors that would not end where such a destination ends is refused, writing nothing.
     */
    @Test
    void aUriDeviceWithBytesPastItsLastSectorIsCopiedVerifiedHashedAndZeroedByteExact() throws Exception {
        byte[] data = random(1000, 9);
        TailedDevice odd = new TailedDevice(new MemoryBlockDevice("mem://odd", 1), Arrays.copyOfRange(data, 512, 1000));
        odd.write(0, java.nio.ByteBuffer.wrap(data, 0, 512)).toCompletableFuture().join();
        mem.put("odd", odd);

        assertThat(fixture.run("copy", "mem://odd", p("out.img"), "--verify", "--hash", "sha256")).isZero();

        assertThat(Files.readAllBytes(dir.resolve("out.img"))).isEqualTo(data);
        assertThat(fixture.out()).contains(java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(data)))
                .contains("verified " + p("out.img") + ": identical to the source");

        byte[] other = random(1000, 10);
        Path src = Files.write(dir.resolve("other.img"), other);
        TailedDevice target = new TailedDevice(new MemoryBlockDevice("mem://target", 1), new byte[488]);
        mem.put("target", target);
        assertThat(fixture.run("copy", src.toString(), "mem://target", "--verify")).isZero();
        assertThat(target.content()).isEqualTo(other);
        assertThat(fixture.out()).contains("verified mem://target: identical to the source");

        TailedDevice big = new TailedDevice(new MemoryBlockDevice("mem://big", 3), new byte[464]);
        mem.put("big", big);
        assertThat(fixture.run("copy", src.toString(), "mem://big")).isEqualTo(Exit.USAGE);
        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination mem://big is a device named by URI of 2000 "
                + "bytes, written in whole sectors, but the source " + src + " has 1000 bytes, not whole sectors, "
                + "which would end at byte 1000, not at its end; give the source as SRC:SECTOR+COUNT\n");
        assertThat(big.content()).isEqualTo(new byte[2000]);

        assertThat(fixture.run("zero", "mem://odd")).isZero();
        assertThat(odd.content()).isEqualTo(new byte[1000]);
    }

    /** A device that takes only whole 4 KiB blocks, as an NBD export with a minimum block size of 4096. */
    private void add4k(String name, byte[] content) {
        BlockDevice inner = mem.add(name + "-inner", content);
        mem.put(name, new ForwardingDevice(inner) {
            @Override
            public String name() {
                return "mem://" + name;
            }

            @Override
            public int minimumBlockBytes() {
                return 4096;
            }
        });
    }

    @Test
    void regionsNotAlignedToADevicesMinimumBlockAreExit2NamingItAndNothingIsCreatedOrWritten() throws IOException {
        byte[] data = random(MIB, 11);
        add4k("k4", data);
        Path src = image(dir, "src.img", MIB, 12);

        assertThat(fixture.run("copy", "mem://k4/:1+8", p("new.img"))).isEqualTo(Exit.USAGE);
        assertThat(fixture.err()).isEqualTo("kcopyd copy: region [1, 9) of 'mem://k4' is not aligned to its minimum "
                + "block of 4096 bytes: its start and length must be multiples of 8 sectors\n");
        assertThat(fixture.run("copy", src + ":0+4", p("new.img"), "mem://k4/:8")).isEqualTo(Exit.USAGE);
        assertThat(fixture.err()).contains("region [8, 12) of 'mem://k4' is not aligned to its minimum block of 4096");
        assertThat(fixture.run("zero", "mem://k4/:0+1")).isEqualTo(Exit.USAGE);
        assertThat(fixture.err()).contains("region [0, 1) of 'mem://k4' is not aligned");
        assertThat(mem.content("k4", MIB)).isEqualTo(data);
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");

        assertThat(fixture.run("copy", "mem://k4/:8+16", p("aligned.img"))).isZero();
        assertThat(Files.readAllBytes(dir.resolve("aligned.img"))).isEqualTo(Arrays.copyOfRange(data, 4096, 3 * 4096));
    }

    @Test
    void zeroWritesZerosToADeviceNamedByUri() throws IOException {
        byte[] data = random(MIB, 9);
        mem.add("d", MIB, data);

        assertThat(fixture.run("zero", "mem://d/:8+16")).isZero();

        byte[] expected = data.clone();
        Arrays.fill(expected, 8 * 512, 24 * 512, (byte) 0);
        assertThat(mem.content("d", MIB)).isEqualTo(expected);
    }

    @Test
    void aFileUriIsThatFileAndAsADestinationMustExist() throws IOException {
        Path src = image(dir, "src.img", 8192, 10);
        Path dst = Files.write(dir.resolve("dst file.img"), new byte[8192]);

        assertThat(fixture.run("copy", src.toUri().toString(), dst.toUri() + ":0")).isZero();
        assertThat(fixture.run("copy", src.toString(), dir.resolve("new.img").toUri().toString()))
                .isEqualTo(Exit.FAILED);
        assertThat(fixture.run("copy", src.toUri().toString(), src.toString() + ":8")).isEqualTo(Exit.USAGE);

        assertThat(Files.readAllBytes(dst)).isEqualTo(Files.readAllBytes(src));
        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: cannot open destination " + dir.resolve("new.img") + ": no such file",
                "kcopyd copy: destination '" + src + ":8' overlaps the source " + src + " (the same file): sectors "
                        + "[8, 24) and sectors [0, 16)");
        assertThat(CommandFixture.names(dir)).containsExactly("dst file.img", "src.img");
    }

    @Test
    void uriArgumentsTakeTheirRegionAfterTheHostAndPort() {
        assertThat(RegionSpec.parse("nbd://host:10809")).isEqualTo(
                new RegionSpec("nbd://host:10809", null, URI.create("nbd://host:10809"), 0, -1));
        assertThat(RegionSpec.parse("nbd://host:10809/export:2048+8")).isEqualTo(new RegionSpec(
                "nbd://host:10809/export:2048+8", null, URI.create("nbd://host:10809/export"), 2048, 8));
        assertThat(RegionSpec.parse("nbd+unix:///?socket=/run/a.sock")).isEqualTo(new RegionSpec(
                "nbd+unix:///?socket=/run/a.sock", null, URI.create("nbd+unix:///?socket=/run/a.sock"), 0, -1));
        assertThat(RegionSpec.parse("nbd://[::1]:10809/x:")).isEqualTo(
                new RegionSpec("nbd://[::1]:10809/x:", null, URI.create("nbd://[::1]:10809/x"), 0, -1));
        assertThat(RegionSpec.parse("file:///tmp/a.img:8")).isEqualTo(new RegionSpec(
                "file:///tmp/a.img:8", Path.of("/tmp/a.img"), URI.create("file:///tmp/a.img"), 8, -1));
        assertThat(RegionSpec.parse("./nbd://x:").uri()).as("a file written ./NAME").isNull();

        assertThatThrownBy(() -> RegionSpec.parse("nbd://host/exp:ort")).hasMessage("'nbd://host/exp:ort': the region "
                + "'ort' after the last ':' is not SECTOR or SECTOR+COUNT in decimal 512-byte sectors; to name a device "
                + "whose URI contains ':' after its host and port, end it with ':' ('nbd://host/exp:ort:')");
        assertThatThrownBy(() -> RegionSpec.parse("file://server/a.img")).hasMessage("'file://server/a.img': "
                + "'file://server/a.img' names a file on host 'server'; a file: URI names a local file (file:///path)");
    }
}
