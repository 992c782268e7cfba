package org.kcopyd.device;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.Map;

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
