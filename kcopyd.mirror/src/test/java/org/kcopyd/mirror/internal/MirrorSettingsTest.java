package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.kcopyd.mirror.Mirror;

/** A mirror configuration is checked before anything is opened; every refusal names the value and the limit. */
class MirrorSettingsTest {

    private static final String LOG = "/var/lib/kcopyd/m.log";

    /** A configuration as DS would hand it to the component: unset attributes take their defaults. */
    private static MirrorConfiguration config(Map<String, Object> values) {
        return (MirrorConfiguration) Proxy.newProxyInstance(MirrorConfiguration.class.getClassLoader(),
                new Class<?>[] {MirrorConfiguration.class}, (proxy, method, args) -> {
                    if (values.containsKey(method.getName())) {
                        return values.get(method.getName());
                    }
                    return method.getDefaultValue();
                });
    }

    private static Map<String, Object> valid() {
        Map<String, Object> v = new HashMap<>();
        v.put(Mirror.CONFIG_NAME, "m");
        v.put(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", "/d/b.img"});
        v.put(Mirror.CONFIG_REGION_LOG, LOG);
        return v;
    }

    private static Map<String, Object> with(String key, Object value) {
        Map<String, Object> v = valid();
        v.put(key, value);
        return v;
    }

    private static String refusal(Map<String, Object> values) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> MirrorSettings.of(config(values)));
        assertThat(t).as("refused: " + values).isInstanceOf(IllegalArgumentException.class);
        return t.getMessage();
    }

    @Test
    void theConfigurationAttributesAreTheExportedPropertyNames() throws Exception {
        Set<String> attributes = Arrays.stream(MirrorConfiguration.class.getDeclaredMethods()).map(Method::getName)
                .collect(Collectors.toSet());
        Set<String> constants = new java.util.HashSet<>();
        for (Field f : Mirror.class.getFields()) {
            if (f.getName().startsWith("CONFIG_") && Modifier.isStatic(f.getModifiers())) {
                constants.add((String) f.get(null));
            }
        }
        assertThat(attributes).isEqualTo(constants);
        assertThat(MirrorConfiguration.class.getMethod("regionSectors").getDefaultValue())
                .isEqualTo(Mirror.DEFAULT_REGION_SECTORS);
    }

    @Test
    void aValidConfigurationKeepsEveryValue() {
        UUID id = UUID.randomUUID();
        Map<String, Object> v = with(Mirror.CONFIG_REGION_LOG_ID, id.toString());
        v.put(Mirror.CONFIG_REGION_SECTORS, 2048);
        v.put(Mirror.CONFIG_FORMAT, true);

        MirrorSettings s = MirrorSettings.of(config(v));

        assertThat(s.name()).isEqualTo("m");
        assertThat(s.legs()).containsExactly("/d/a.img", "/d/b.img");
        assertThat(s.regionSectors()).isEqualTo(2048);
        assertThat(s.regionLog()).hasToString(LOG);
        assertThat(s.regionLogId()).isEqualTo(id);
        assertThat(s.format()).isTrue();
        assertThat(MirrorSettings.of(config(valid())).regionLogId()).as("no identity: no log yet").isNull();
    }

    @Test
    void theRegionSizeIsAPowerOfTwoFrom8To1048576Sectors() {
        for (int bad : new int[] {-8, 0, 4, 7, 12, 1000, 1 << 21, Integer.MIN_VALUE}) {
            assertThat(refusal(with(Mirror.CONFIG_REGION_SECTORS, bad)))
                    .contains("region size " + bad + " sectors is not allowed")
                    .contains("a power of two from 8 to 1048576 sectors");
        }
        for (int good : new int[] {8, 1024, 1 << 20}) {
            assertThat(MirrorSettings.of(config(with(Mirror.CONFIG_REGION_SECTORS, good))).regionSectors())
                    .isEqualTo(good);
        }
    }

    @Test
    void namesAreLettersDigitsDotsUnderscoresAndDashes() {
        for (String bad : new String[] {"b*", "", ".", "..", "...", "a b", "(x)", "m=1", "x".repeat(65), "é"}) {
            assertThat(refusal(with(Mirror.CONFIG_NAME, bad))).contains("'" + bad + "' is not allowed")
                    .contains("1 to 64 letters");
        }
        assertThat(refusal(with(Mirror.CONFIG_NAME, null))).contains("mirror name missing");
        assertThat(MirrorSettings.of(config(with(Mirror.CONFIG_NAME, "m-1.x_Y"))).name()).isEqualTo("m-1.x_Y");
    }

    @Test
    void aCommaIsPartOfALegPathNeverASeparator() {
        MirrorSettings s = MirrorSettings.of(config(with(Mirror.CONFIG_LEGS, new String[] {"/d/x,y.img", "/d/b.img"})));
        assertThat(s.legs()).containsExactly("/d/x,y.img", "/d/b.img");

        assertThat(refusal(with(Mirror.CONFIG_LEGS, new String[] {"/d/a.img,/d/b.img"})))
                .contains("1 legs given, a mirror has 2 to 16")
                .contains("'/d/a.img,/d/b.img' is one leg: legs is a list, a comma does not separate legs");
    }

    @Test
    void legsAreTwoToSixteenDistinctAbsolutePathsOrServices() {
        String[] seventeen = IntStream.range(0, 17).mapToObj(i -> "/d/" + i + ".img").toArray(String[]::new);
        assertThat(refusal(with(Mirror.CONFIG_LEGS, seventeen))).contains("17 legs given, a mirror has 2 to 16");
        assertThat(refusal(with(Mirror.CONFIG_LEGS, null))).contains("0 legs given");
        assertThat(refusal(with(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", "b.img"})))
                .contains("leg 1 'b.img' is a relative path; give an absolute one");
        assertThat(refusal(with(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", " "}))).contains("leg 1 is empty");
        assertThat(refusal(with(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", "service:"})))
                .contains("leg 1 'service:' names no device service");
        assertThat(refusal(with(Mirror.CONFIG_LEGS, new String[] {"service:x", "/d/a.img", "service:x"})))
                .contains("leg 2 'service:x' is leg 0 already");
        String longPath = "/d/" + "p".repeat(300);
        assertThat(refusal(with(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", longPath})))
                .contains("leg 1 path is 303 bytes long, the region log records at most 256");
        assertThat(MirrorSettings.of(config(with(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", "service:remote"})))
                .legs()).containsExactly("/d/a.img", "service:remote");
    }

    @Test
    void theRegionLogIsAnAbsolutePathAndItsIdentityAUuid() {
        assertThat(refusal(with(Mirror.CONFIG_REGION_LOG, null))).contains("mirror 'm' lacks 'regionLog'");
        assertThat(refusal(with(Mirror.CONFIG_REGION_LOG, "m.log"))).contains("regionLog 'm.log' is a relative path");
        assertThat(refusal(with(Mirror.CONFIG_REGION_LOG_ID, "xyz")))
                .contains("regionLogId 'xyz' is not a UUID");
        assertThat(refusal(with(Mirror.CONFIG_REGION_LOG_ID, "1-2-3-4-5"))).contains("is not a UUID");
        assertThat(MirrorSettings.of(config(with(Mirror.CONFIG_REGION_LOG_ID, " "))).regionLogId()).isNull();
    }

    @Test
    void theThrottleIsCheckedBeforeItIsApplied() {
        assertThat(refusal(with(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, -1L)))
                .contains("throttleBytesPerSecond -1 is not allowed: 0 (no cap) or at least 4096");
        assertThat(refusal(with(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, 100L))).contains("at least 4096");
        assertThat(refusal(with(Mirror.CONFIG_THROTTLE_IO_PERCENT, 0))).contains("throttleIoPercent 0 is outside 1..100");
        assertThat(refusal(with(Mirror.CONFIG_THROTTLE_IO_PERCENT, 101))).contains("outside 1..100");
    }

    @Test
    void onlyTheThrottleErrorHandlingAndFormatChangeWithoutReopening() {
        MirrorSettings s = MirrorSettings.of(config(valid())).withRegionLogId(UUID.randomUUID());
        Map<String, Object> live = valid();
        live.put(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, 1L << 20);
        live.put(Mirror.CONFIG_ERROR_HANDLING, true);
        live.put(Mirror.CONFIG_FORMAT, true);
        assertThat(s.structurallyDifferent(MirrorSettings.of(config(live)))).isFalse();
        assertThat(s.structurallyDifferent(MirrorSettings.of(config(valid())))).as("no identity: keep the open log")
                .isFalse();
        assertThat(s.structurallyDifferent(s.withRegionLogId(UUID.randomUUID()))).isTrue();
        for (Map.Entry<String, Object> change : List.<Map.Entry<String, Object>>of(Map.entry(Mirror.CONFIG_NAME, "n"),
                Map.entry(Mirror.CONFIG_LEGS, new String[] {"/d/a.img", "/d/c.img"}),
                Map.entry(Mirror.CONFIG_REGION_SECTORS, 2048), Map.entry(Mirror.CONFIG_REGION_LOG, "/d/other.log"))) {
            assertThat(s.structurallyDifferent(MirrorSettings.of(config(with(change.getKey(), change.getValue())))))
                    .as(change.getKey()).isTrue();
        }
    }
}
