package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

/** Bad requests are refused with a message naming the bad value and the limit, before anything is written. */
class ValidationTest {

    private Engine engine;
    private KcopydClient client;
    private FaultyDevice src;
    private FaultyDevice dst;

    @BeforeEach
    void setUp() {
        engine = new Engine(EngineSettings.builder().maxDestinations(8).build());
        client = engine.createClient(16);
        src = new FaultyDevice("src", 2048);
        dst = new FaultyDevice("dst", 2048);
    }

    @AfterEach
    void tearDown() {
        engine.close();
        assertThat(dst.writes).as("nothing written by a refused request").isEmpty();
        assertThat(src.reads).as("nothing read by a refused request").isEmpty();
    }

    @Test
    void regionsRejectNegativeZeroAndOverflowingSectors() {
        assertThatThrownBy(() -> IoRegion.of(src, -1, 8)).hasMessageContaining("start sector -1 is negative");
        assertThatThrownBy(() -> IoRegion.of(src, 0, 0)).hasMessageContaining("sector count 0 is below the minimum 1");
        assertThatThrownBy(() -> IoRegion.of(src, Long.MAX_VALUE - 2, 8))
                .hasMessageContaining("overflows a 64-bit sector number");
        assertThatThrownBy(() -> IoRegion.of(src, 2000, 100))
                .hasMessageContaining("[2000, 2100) ends past the device end 2048 of 'src'");
    }

    @Test
    void regionsOfADeviceWithALargerMinimumBlockMustBeAlignedToIt() {
        FaultyDevice fourK = new FaultyDevice("4k", 2048) {
            @Override
            public int minimumBlockBytes() {
                return 4096;
            }
        };
        assertThatThrownBy(() -> IoRegion.of(fourK, 4, 8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("region [4, 12) of '4k' is not aligned to its minimum block of 4096 bytes: its start and "
                        + "length must be multiples of 8 sectors");
        assertThatThrownBy(() -> IoRegion.of(fourK, 8, 12)).hasMessageContaining("region [8, 20) of '4k' is not aligned");
        assertThat(IoRegion.of(fourK, 8, 16).count()).isEqualTo(16);
        assertThat(IoRegion.whole(fourK).count()).isEqualTo(2048);
        assertThat(IoRegion.of(src, 3, 5).count()).as("512-byte devices: any whole sectors").isEqualTo(5);
    }

    @Test
    void nullOrEmptyDestinationsAreRefused() {
        assertThatThrownBy(() -> client.copy(IoRegion.whole(src), null, Set.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dests is null")
                .hasMessageContaining("1 to 8");
        assertThatThrownBy(() -> client.copy(IoRegion.whole(src), List.of(), Set.of()))
                .hasMessageContaining("dests is empty: a job needs 1 to 8 destinations");
        assertThatThrownBy(() -> client.copy(IoRegion.whole(src), Collections.singletonList(null), Set.of()))
                .hasMessageContaining("dest[0] is null");
        assertThatThrownBy(() -> client.copy(null, List.of(IoRegion.whole(dst)), Set.of()))
                .hasMessageContaining("source region is null");
    }

    @Test
    void tooManyDestinationsAreRefused() {
        List<IoRegion> nine = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            nine.add(IoRegion.of(dst, i * 100L, 10));
        }
        assertThatThrownBy(() -> client.copy(IoRegion.of(src, 0, 10), nine, Set.of()))
                .hasMessage("9 destinations given, the limit is 8");
    }

    @Test
    void destinationsOfAnotherLengthThanTheSourceAreRefused() {
        assertThatThrownBy(() -> client.copy(IoRegion.of(src, 0, 128),
                List.of(IoRegion.of(dst, 0, 128), IoRegion.of(dst, 512, 100)), Set.of()))
                .hasMessage("dest[1] has 100 sectors but the source has 128");
    }

    @Test
    void aDestinationOverlappingTheSourceOnTheSameDeviceIsRefused() {
        assertThatThrownBy(() -> client.copy(IoRegion.of(dst, 64, 128), List.of(IoRegion.of(dst, 0, 128)), Set.of()))
                .hasMessage("dest[0] sectors [0, 128) overlap the source sectors [64, 192) on device 'dst'");
    }

    /**
     * H48-1: a view of a device (read-only, or hashing what is read) equal to the device it shows, while the
     * device, which knows nothing of the view, is not equal to it: the source and a destination are one
     * device whichever of the two says so, and the overlap is refused.
     */
    @Test
    void aDestinationOverlappingAViewOfItAsTheSourceIsRefused() {
        BlockDevice view = new org.kcopyd.testdevices.ForwardingDevice(dst) {
            @Override
            public boolean equals(Object o) {
                return o == this || dst.equals(o);
            }

            @Override
            public int hashCode() {
                return dst.hashCode();
            }
        };
        assertThat(dst.equals(view)).as("the device does not know its view").isFalse();
        assertThatThrownBy(() -> client.copy(IoRegion.of(view, 64, 128), List.of(IoRegion.of(dst, 0, 128)), Set.of()))
                .hasMessage("dest[0] sectors [0, 128) overlap the source sectors [64, 192) on device 'dst'");
    }

    @Test
    void overlappingDestinationsAreRefused() {
        assertThatThrownBy(() -> client.copy(IoRegion.of(src, 0, 10),
                List.of(IoRegion.of(dst, 0, 10), IoRegion.of(dst, 5, 10)), Set.of()))
                .hasMessageContaining("dest[1] sectors [5, 15) overlap dest[0] sectors [0, 10)");
    }

    @Test
    void aReadOnlyDestinationIsRefused() {
        dst.readOnly = true;
        assertThatThrownBy(() -> client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of()))
                .hasMessage("dest[0] device 'dst' is read-only");
        assertThatThrownBy(() -> client.zero(List.of(IoRegion.whole(dst)), Set.of(), null, null))
                .hasMessage("dest[0] device 'dst' is read-only");
    }

    @Test
    void aClosedClientRefusesWithItsName() {
        client.close();
        assertThatThrownBy(() -> client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("kcopyd client '" + client.name() + "' is closed");
        assertThatThrownBy(() -> client.prepareCallback(null, null)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(client::flush).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void nullFlagsAreRefused() {
        assertThatThrownBy(() -> client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), null))
                .hasMessageContaining("flags is null");
    }

    @Test
    void clientPageCountsAreBoundedByTheMaximumAndTheBudget() {
        Engine small = new Engine(EngineSettings.builder().defaultPages(64).maxPagesPerClient(100).pageBudget(150).build());
        try {
            assertThatThrownBy(() -> small.createClient(101)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("pages 101 is above the maximum 100 per client");
            small.createClient(100);
            assertThatThrownBy(() -> small.createClient(60)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("asks for 60 pages, 100 of the budget 150 are reserved by 1 clients");
            KcopydClient fits = small.createClient(50);
            fits.close();
            assertThat(small.pagesReserved()).isEqualTo(100);
        } finally {
            small.close();
        }
    }

    @Test
    void settingsAreAppliedByNameFromConfigurationValues() {
        EngineSettings s = EngineSettings.builder().set("defaultPages", "4096").set("subJobKiB", 1024L)
                .set("directIo", "true").set("throttleBytesPerSecond", 0).build();
        assertThat(s.defaultPages()).isEqualTo(4096);
        assertThat(s.subJobKiB()).isEqualTo(1024);
        assertThat(s.directIo()).isTrue();
        assertThat(s.toMap()).containsEntry("defaultPages", 4096).containsEntry("directIo", true).hasSize(11);
        EngineSettings copy = EngineSettings.builder().build();
        for (var e : s.toMap().entrySet()) {
            copy = copy.toBuilder().set(e.getKey(), e.getValue()).build();
        }
        assertThat(copy).isEqualTo(s);
        assertThatThrownBy(() -> EngineSettings.builder().set("defaultPages", "many"))
                .hasMessage("defaultPages value 'many' is not a whole number; the allowed range is 1..262144");
        assertThatThrownBy(() -> EngineSettings.builder().set("ioThreads", 2.5))
                .hasMessageContaining("ioThreads value '2.5' is not a whole number; the allowed range is 1..256");
        assertThatThrownBy(() -> EngineSettings.builder().set("directIo", "yes"))
                .hasMessage("directIo value 'yes' is not true or false");
        assertThatThrownBy(() -> EngineSettings.builder().set("pages", 1)).hasMessageContaining("unknown setting 'pages'");
    }

    @Test
    void settingsOutOfRangeNameTheSettingTheValueAndTheRange() {
        assertThatThrownBy(() -> EngineSettings.builder().subJobKiB(32768))
                .hasMessage("subJobKiB 32768 is outside the allowed range 4..16384");
        assertThatThrownBy(() -> EngineSettings.builder().defaultPages(0))
                .hasMessage("defaultPages 0 is outside the allowed range 1..262144");
        assertThatThrownBy(() -> EngineSettings.builder().maxDestinations(65))
                .hasMessage("maxDestinations 65 is outside the allowed range 1..64");
        assertThatThrownBy(() -> EngineSettings.builder().subJobKiB(6))
                .hasMessage("subJobKiB 6 is not a multiple of the 4 KiB page");
    }
}
