package org.kcopyd.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.EngineSettings.Setting;

/** {@link EngineSettings} follows its table, {@link Setting}: names, defaults, ranges, equality. */
class EngineSettingsTest {

    /** A value of the setting's own type, from a whole number. */
    private static Object typed(Setting s, long value) {
        if (s.defaultValue() instanceof Boolean) {
            return value != 0;
        }
        if (s.defaultValue() instanceof Integer) {
            return (int) value;
        }
        return value;
    }

    /** An allowed value other than the default, next to it where possible (the page settings stay ordered). */
    private static long otherAllowed(Setting s) {
        long current = bits(s.defaultValue());
        return LongStream.of(current - 1, current + 1, s.min(), s.max()).filter(v -> v != current && s.allows(v))
                .findFirst().orElseThrow();
    }

    private static long bits(Object value) {
        return value instanceof Boolean b ? (b ? 1 : 0) : ((Number) value).longValue();
    }

    /** The page settings all at their minimum or all at their maximum, so that any one of them may take its limit. */
    private static EngineSettings.Builder pagesAll(boolean highest) {
        EngineSettings.Builder b = EngineSettings.builder();
        for (Setting s : List.of(Setting.DEFAULT_PAGES, Setting.MAX_PAGES_PER_CLIENT, Setting.PAGE_BUDGET)) {
            b.set(s.propertyName(), highest ? s.max() : s.min());
        }
        return b;
    }

    @Test
    void theMapListsEverySettingOfTheTableInOrderWithItsDefault() {
        Map<String, Object> defaults = EngineSettings.defaults().toMap();

        assertThat(defaults.keySet()).containsExactly(Arrays.stream(Setting.values()).map(Setting::propertyName)
                .toArray(String[]::new));
        for (Setting s : Setting.values()) {
            assertThat(defaults.get(s.propertyName())).as(s.propertyName()).isEqualTo(s.defaultValue());
        }
        assertThat(EngineSettings.defaults().maxDestinations()).isEqualTo(EngineSettings.MAX_DESTINATIONS);
    }

    @Test
    void everySettingTakesItsLimitsAndRefusesOneBeyondNamingTheRange() {
        for (Setting s : Setting.values()) {
            String name = s.propertyName();
            assertThat(pagesAll(false).set(name, typed(s, s.min())).build().toMap().get(name))
                    .as(name + " at its minimum").isEqualTo(typed(s, s.min()));
            assertThat(pagesAll(true).set(name, typed(s, s.max())).build().toMap().get(name))
                    .as(name + " at its maximum").isEqualTo(typed(s, s.max()));
            assertThat(s.allows(s.min() - 1)).as(name).isFalse();
            assertThat(s.allows(s.max() + 1)).as(name).isFalse();
            if (!(s.defaultValue() instanceof Boolean)) {
                assertThatThrownBy(() -> EngineSettings.builder().set(name, s.min() - 1))
                        .hasMessageStartingWith(name + " " + (s.min() - 1) + " is outside the allowed range ")
                        .hasMessageEndingWith(".." + s.max());
                assertThatThrownBy(() -> EngineSettings.builder().set(name, String.valueOf(s.max() + 1)))
                        .hasMessageStartingWith(name + " " + (s.max() + 1) + " is outside the allowed range ")
                        .hasMessageEndingWith(".." + s.max());
            }
        }
    }

    @Test
    void theRangesWithAGapAStepOrNoNumbersSayAllThatIsAllowed() {
        assertThat(Setting.THROTTLE_BYTES_PER_SECOND.range()).isEqualTo("0 or 4096..1000000000000");
        assertThat(Setting.THROTTLE_BYTES_PER_SECOND.allows(4095)).isFalse();
        assertThatThrownBy(() -> EngineSettings.builder().throttleBytesPerSecond(100))
                .hasMessage("throttleBytesPerSecond 100 is outside the allowed range 0 or 4096..1000000000000");
        assertThat(Setting.SUB_JOB_KIB.range()).isEqualTo("4..16384, a multiple of 4");
        assertThat(Setting.SUB_JOB_KIB.allows(6)).isFalse();
        assertThatThrownBy(() -> EngineSettings.builder().set("subJobKiB", "6"))
                .hasMessage("subJobKiB 6 is not a multiple of the 4 KiB page");
        // A configuration file's words, not Java's: no type named.
        assertThatThrownBy(() -> EngineSettings.builder().set("maxQueuedJobs", "many"))
                .hasMessage("maxQueuedJobs value 'many' is not a whole number; the allowed range is 1..1000000");
        assertThatThrownBy(() -> EngineSettings.builder().set("maxQueuedJobs", true))
                .hasMessage("maxQueuedJobs value 'true' is not a whole number; the allowed range is 1..1000000");
        assertThat(Setting.DIRECT_IO.range()).isEqualTo("true or false");
        assertThat(Setting.IO_THREADS.range()).isEqualTo("1..256");
    }

    @Test
    void settingsAreEqualExactlyWhenEverySettingIs() {
        EngineSettings defaults = EngineSettings.defaults();
        assertThat(EngineSettings.builder().build()).isEqualTo(defaults).hasSameHashCodeAs(defaults);
        for (Setting s : Setting.values()) {
            long value = otherAllowed(s);
            EngineSettings changed = defaults.toBuilder().set(s.propertyName(), typed(s, value)).build();

            assertThat(changed).as(s.propertyName()).isNotEqualTo(defaults);
            assertThat(changed.toString()).contains(s.propertyName() + "=" + typed(s, value));
            assertThat(changed.toBuilder().build()).isEqualTo(changed).hasSameHashCodeAs(changed);
            EngineSettings back = changed.toBuilder().set(s.propertyName(), s.defaultValue()).build();
            assertThat(back).isEqualTo(defaults).hasSameHashCodeAs(defaults);
        }
    }

    @Test
    void theAccessorsReadTheSameValuesAsTheMap() {
        EngineSettings.Builder builder = EngineSettings.builder();
        for (Setting s : Setting.values()) {
            builder.set(s.propertyName(), typed(s, otherAllowed(s)));
        }
        EngineSettings s = builder.build();
        Map<String, Object> m = s.toMap();

        assertThat(m).containsEntry("defaultPages", s.defaultPages())
                .containsEntry("maxPagesPerClient", s.maxPagesPerClient())
                .containsEntry("pageBudget", s.pageBudget())
                .containsEntry("subJobKiB", s.subJobKiB())
                .containsEntry("subJobsPerJob", s.subJobsPerJob())
                .containsEntry("maxDestinations", s.maxDestinations())
                .containsEntry("maxQueuedJobs", s.maxQueuedJobs())
                .containsEntry("ioThreads", s.ioThreads())
                .containsEntry("throttleIoPercent", s.throttleIoPercent())
                .containsEntry("throttleBytesPerSecond", s.throttleBytesPerSecond())
                .containsEntry("directIo", s.directIo())
                .hasSize(Setting.values().length);
        assertThat(m).isNotEqualTo(EngineSettings.defaults().toMap());
    }

    @Test
    void pageSettingsOutOfOrderAreRefusedNamingBoth() {
        assertThatThrownBy(() -> EngineSettings.builder().defaultPages(4096).maxPagesPerClient(2048).build())
                .hasMessage("defaultPages 4096 is above maxPagesPerClient 2048");
        assertThatThrownBy(() -> EngineSettings.builder().maxPagesPerClient(2048).pageBudget(1024).build())
                .hasMessage("maxPagesPerClient 2048 is above pageBudget 1024");
    }
}
