package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * A configuration's numbers given as texts: texts of the method's number type pass (DS converts
 * them), others are refused naming the property (as DS maps the method's name), the value and the
 * numbers it takes; numbers, absent properties and non-number methods are left alone.
 */
class ConfigurationValuesTest {

    /** A configuration annotation as a component declares one. */
    @interface Sample {
        int chunkSectors() default 16;

        long size_mib() default 0;

        double rate() default 0;

        int[] ports() default {};

        String name() default "";

        boolean format() default false;
    }

    private static final String PREFIX = "snapshot 's1': ";

    @Test
    void numbersAndTextsOfNumbersPass() {
        assertThatCode(() -> ConfigurationValues.requireNumbers(Sample.class, Map.of("chunkSectors", " 32 ",
                "size.mib", 7L, "rate", "1.5", "ports", new String[] {"1", "2"}, "name", "abc", "format", "yes"),
                PREFIX)).doesNotThrowAnyException();
        assertThatCode(() -> ConfigurationValues.requireNumbers(Sample.class, Map.of(), PREFIX))
                .doesNotThrowAnyException();
    }

    @Test
    void aTextThatIsNoNumberOfItsTypeIsRefusedNamingThePropertyAndTheRange() {
        assertThatThrownBy(() -> ConfigurationValues.requireNumbers(Sample.class, Map.of("chunkSectors", "abc"), PREFIX))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot 's1': chunkSectors 'abc' is not a whole number from -2147483648 to 2147483647");
        assertThatThrownBy(() -> ConfigurationValues.requireNumbers(Sample.class, Map.of("chunkSectors", "1.5"), PREFIX))
                .hasMessageContaining("chunkSectors '1.5' is not a whole number");
        assertThatThrownBy(() -> ConfigurationValues.requireNumbers(Sample.class,
                Map.of("size.mib", "99999999999999999999"), PREFIX))
                .hasMessage("snapshot 's1': size.mib '99999999999999999999' is not a whole number from "
                        + "-9223372036854775808 to 9223372036854775807");
        assertThatThrownBy(() -> ConfigurationValues.requireNumbers(Sample.class, Map.of("rate", "fast"), PREFIX))
                .hasMessage("snapshot 's1': rate 'fast' is not a number");
        assertThatThrownBy(() -> ConfigurationValues.requireNumbers(Sample.class,
                Map.of("ports", new String[] {"1", "two"}), PREFIX))
                .hasMessage("snapshot 's1': ports 'two' is not a whole number from -2147483648 to 2147483647");
    }

    @Test
    void aCreationMarkOfThisFrameworkIsGivenBackAndNoneIsNull() {
        assertThat(ConfigurationValues.requireCreatedHere(Map.of("creating", "f1"), "creating", () -> "f1", PREFIX))
                .isEqualTo("f1");
        assertThat(ConfigurationValues.requireCreatedHere(Map.of("creating", ""), "creating", () -> "f1", PREFIX))
                .isNull();
        assertThat(ConfigurationValues.requireCreatedHere(Map.of(), "creating", () -> {
            throw new AssertionError("the framework is asked only when there is a mark");
        }, PREFIX)).isNull();
    }

    @Test
    void aCreationMarkOfAnotherFrameworkIsRefusedNamingIt() {
        assertThatThrownBy(() -> ConfigurationValues.requireCreatedHere(Map.of("creating", "f0"), "creating",
                () -> "f1", "snapshot 's1'")).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("snapshot 's1': not opened: its configuration was being created or changed "
                        + "when the kcopyd process doing it stopped (creating=f0 names that run)");
        assertThatThrownBy(() -> ConfigurationValues.requireCreatedHere(Map.of("creating", new String[] {"a", "b"}),
                "creating", () -> "f1", "snapshot 's1'")).as("H43 F9: a list said as one, not as an array's identity")
                .hasMessageContaining("(creating=[a, b] names that run)");
    }
}
