package org.kcopyd.device;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Checks a configuration's numbers before a Declarative Services component reads them through its
 * configuration annotation. DS converts a property's text to the method's number type when the
 * method is called, and a text that is no number fails there with its own words
 * ({@code java.lang.NumberFormatException: For input string: "abc"}, wrapped in a
 * {@code ComponentException}): the property was not named, and the failure was not told from an
 * I/O error (exit code 1, not 2). A component calls {@link #requireNumbers} first with the
 * properties it was given, and is refused with a message that names the property, its value and
 * what is expected. Stateless; thread-safe.
 *
 * @since 1.11
 */
public final class ConfigurationValues {

    private ConfigurationValues() {
    }

    /**
     * Refuses a property of {@code type}'s number methods whose value is a text (or texts) that is
     * not a number of the method's type. Numbers, absent properties and other types are left to DS.
     * A method's property name is its name with {@code __} read as {@code _} and {@code _} as
     * {@code .}, as DS maps them.
     *
     * @param type       the component's configuration annotation
     * @param properties the configuration as the component was given it
     * @param prefix     what the message starts with (the snapshot or mirror it configures)
     * @throws IllegalArgumentException naming the property, its value and the numbers it takes
     */
    public static void requireNumbers(Class<? extends Annotation> type, Map<String, ?> properties, String prefix) {
        for (Method m : type.getDeclaredMethods()) {
            Class<?> t = m.getReturnType();
            Class<?> number = t.isArray() ? t.getComponentType() : t;
            if (number != int.class && number != long.class && number != short.class && number != byte.class
                    && number != double.class && number != float.class) {
                continue;
            }
            String name = propertyName(m.getName());
            Object value = properties.get(name);
            Object[] values = value instanceof String[] many ? many : new Object[] {value};
            for (Object v : values) {
                if (v instanceof String text && !isNumber(text.trim(), number)) {
                    throw new IllegalArgumentException(prefix + name + " '" + text + "' is not " + kind(number));
                }
            }
        }
    }

    /**
     * Checks a configuration's creation mark. Whoever creates or changes a configuration and waits to tell
     * its user whether the component opened (the control API's {@code snapshot create}, {@code mirror
     * replace-leg}) sets the mark
     * property {@code key} to the UUID of the framework it runs in ({@code org.osgi.framework.uuid},
     * new at every start), and the component clears it once open. A mark naming another framework is
     * a creation or change the process ended in the middle of (stopped or killed while it waited): its
     * user was never told that it was made, and a component that opened it now would write what nobody
     * confirmed (a mirror's resync over a leg). It is refused, with nothing opened or written, until
     * it is removed.
     *
     * @param properties the configuration as the component was given it
     * @param key        the mark's property
     * @param framework  gives this framework's UUID; asked only when there is a mark
     * @param label      what the message starts with (the snapshot or mirror it configures)
     * @return the mark, if it names this framework (to be cleared once open); null if there is none
     * @throws IllegalStateException if the mark names another framework, saying so and what to do
     * @since 1.12
     */
    public static String requireCreatedHere(Map<String, ?> properties, String key, Supplier<String> framework,
            String label) {
        Object value = properties.get(key);
        // A list given by hand (a configuration file's creating = ["a", "b"]) is said as one.
        String mark = value instanceof Object[] list ? java.util.Arrays.toString(list) : value == null ? null
                : value.toString();
        if (mark == null || mark.isEmpty()) {
            return null;
        }
        if (mark.equals(framework.get())) {
            return mark;
        }
        throw new IllegalStateException(label + ": not opened: its configuration was being created or changed when "
                + "the kcopyd process doing it stopped (" + key + "=" + mark + " names that run), so that was never "
                + "confirmed; nothing of it is opened or written. Remove it and create it again, or make the change "
                + "again");
    }

    private static String propertyName(String method) {
        return method.replace("__", "\u0000").replace('_', '.').replace('\u0000', '_');
    }

    private static boolean isNumber(String text, Class<?> number) {
        try {
            if (number == double.class || number == float.class) {
                Double.parseDouble(text);
            } else if (number == long.class) {
                Long.parseLong(text);
            } else if (number == int.class) {
                Integer.parseInt(text);
            } else if (number == short.class) {
                Short.parseShort(text);
            } else {
                Byte.parseByte(text);
            }
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String kind(Class<?> number) {
        if (number == double.class || number == float.class) {
            return "a number";
        }
        long min = number == long.class ? Long.MIN_VALUE : number == int.class ? Integer.MIN_VALUE
                : number == short.class ? Short.MIN_VALUE : Byte.MIN_VALUE;
        long max = number == long.class ? Long.MAX_VALUE : number == int.class ? Integer.MAX_VALUE
                : number == short.class ? Short.MAX_VALUE : Byte.MAX_VALUE;
        return "a whole number from " + min + " to " + max;
    }
}
