package org.kcopyd.runtime.client;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One command's words after its name, split into positional arguments, options with a value
 * ({@code --opt VALUE} or {@code --opt=VALUE}) and flags, as kcopyd.cli's picocli commands take
 * them. Every daemon command also takes {@code --state DIR} (resolved by {@code StateLocation},
 * skipped here), {@code --json} and {@code --help}/{@code -h}. After {@code --} every word is
 * positional. An unknown option, an option given twice, a missing value or a wrong number of
 * positional arguments is a {@link ClientException#usage} naming it; with {@code --help} only
 * unknown options are refused, so that help is always at hand. Immutable once parsed.
 */
final class Arguments {

    /** What a command accepts: positional arguments from {@code min} to {@code max}, options, flags. */
    record Spec(String usage, int min, int max, Set<String> valued, Set<String> flags) {
    }

    private final List<String> positional;
    private final Map<String, String> values;
    private final Set<String> flags;

    private Arguments(List<String> positional, Map<String, String> values, Set<String> flags) {
        this.positional = positional;
        this.values = values;
        this.flags = flags;
    }

    /**
     * @param words the words after the command's name (and subcommand)
     * @param spec  what the command accepts
     * @return the parsed arguments
     * @throws ClientException (exit 2) naming the word refused
     */
    static Arguments parse(List<String> words, Spec spec) {
        List<String> positional = new ArrayList<>();
        Map<String, String> values = new HashMap<>();
        Set<String> flags = new HashSet<>();
        boolean options = true;
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (options && w.equals("--")) {
                options = false;
                continue;
            }
            if (!options || !w.startsWith("-") || w.equals("-")) {
                positional.add(w);
                continue;
            }
            int eq = w.indexOf('=');
            String name = w.startsWith("--") && eq > 0 ? w.substring(0, eq) : w;
            if (name.equals("-h")) {
                name = "--help";
            }
            if (name.equals("--state")) {
                i += eq > 0 ? 0 : 1;
                continue;
            }
            boolean global = name.equals("--json") || name.equals("--help");
            if (spec.valued().contains(name)) {
                String value;
                if (eq > 0) {
                    value = w.substring(eq + 1);
                } else if (i + 1 < words.size()) {
                    value = words.get(++i);
                } else {
                    throw ClientException.usage(name + " needs a value: " + spec.usage());
                }
                if (values.putIfAbsent(name, value) != null) {
                    throw ClientException.usage(name + " is given twice ('" + Json.printable(values.get(name)) + "' and '"
                            + Json.printable(value) + "')");
                }
            } else if (global || spec.flags().contains(name)) {
                if (eq > 0) {
                    throw ClientException.usage(name + " takes no value: '" + Json.printable(w) + "'");
                }
                flags.add(name);
            } else {
                throw ClientException.usage("unknown option '" + Json.printable(w) + "': " + spec.usage());
            }
        }
        Arguments a = new Arguments(positional, values, flags);
        if (!a.help() && (positional.size() < spec.min() || positional.size() > spec.max())) {
            throw ClientException.usage((positional.size() < spec.min() ? "missing arguments" : "too many arguments ('"
                    + Json.printable(positional.get(spec.max())) + "'...)") + ": " + spec.usage());
        }
        return a;
    }

    /** @return the i-th positional argument */
    String get(int i) {
        return positional.get(i);
    }

    /** @return the i-th positional argument, or null when fewer were given */
    String optional(int i) {
        return i < positional.size() ? positional.get(i) : null;
    }

    /** @return the positional arguments from {@code from} on */
    List<String> from(int from) {
        return positional.subList(from, positional.size());
    }

    /** @return the option's value, or null */
    String value(String option) {
        return values.get(option);
    }

    boolean flag(String option) {
        return flags.contains(option);
    }

    boolean json() {
        return flags.contains("--json");
    }

    boolean help() {
        return flags.contains("--help");
    }

    /**
     * @return the option's whole-number value in {@code min..max}, or {@code fallback} when absent
     * @throws ClientException naming the value and the range
     */
    long number(String option, long fallback, long min, long max) {
        String v = values.get(option);
        if (v == null) {
            return fallback;
        }
        long n;
        if (!v.matches("[0-9]{1,18}")) {
            throw ClientException.usage(option + " '" + Json.printable(v) + "' is not a whole number in " + min + ".."
                    + max);
        }
        n = Long.parseLong(v);
        if (n < min || n > max) {
            throw ClientException.usage(option + " " + n + " is outside " + min + ".." + max);
        }
        return n;
    }
}
