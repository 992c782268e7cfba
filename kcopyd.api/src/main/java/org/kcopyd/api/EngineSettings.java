package org.kcopyd.api;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * The engine's configuration, with the defaults and ranges that the OSGi configuration
 * (PID {@code org.kcopyd.engine}) exposes under the same names. Immutable; build with
 * {@link #builder()}. Every setter checks its range and throws
 * {@link IllegalArgumentException} naming the setting, the value and the allowed range.
 *
 * <p>Each setting's name, default, range and description is written once, in {@link Setting};
 * the accessors, {@link #toMap()}, {@link #toString()}, {@link #equals(Object)} and the
 * builder's checks all follow from it.
 */
public final class EngineSettings {

    /** Largest number of destinations a job may have (the width of the write error bit set). */
    public static final int MAX_DESTINATIONS = 64;

    /**
     * The engine's settings, in the order of {@link EngineSettings#toMap()}: each one's
     * configuration property name, default, allowed range and a description for operators (the
     * Metatype description of PID {@code org.kcopyd.engine} is this description followed by the
     * {@linkplain #range() range}). Numeric settings are whole numbers ({@link Integer}, or
     * {@link Long} for {@link #THROTTLE_BYTES_PER_SECOND}); {@link #DIRECT_IO} is a
     * {@link Boolean}.
     *
     * @since 1.1
     */
    public enum Setting {
        /** Pages reserved by a client created without a page count. */
        DEFAULT_PAGES("defaultPages", 2048, Range.between(1, 262144),
                "Pages of 4 KiB reserved by a client created without a page count (2048 = 8 MiB); at most "
                        + "maxPagesPerClient. Applies to new clients."),
        /** The largest page count one client may reserve. */
        MAX_PAGES_PER_CLIENT("maxPagesPerClient", 65536, Range.between(1, 262144),
                "Largest page count one client may reserve (65536 = 256 MiB; 262144 = 1 GiB); at most pageBudget. "
                        + "Applies to new clients."),
        /** Pages all clients of one factory may reserve together. */
        PAGE_BUDGET("pageBudget", 262144, Range.between(1, 16777216),
                "Pages all clients of the factory may reserve together (262144 = 1 GiB; 16777216 = 64 GiB). "
                        + "Creating a client beyond it fails."),
        /** The chunk size jobs are split into, in KiB. */
        SUB_JOB_KIB("subJobKiB", 512, Range.between(4, 16384).multipleOf(4, "the 4 KiB page"),
                "Jobs are split into chunks of this size. Applies to new clients."),
        /** Chunks of one job in flight at once. */
        SUB_JOBS_PER_JOB("subJobsPerJob", 8, Range.between(1, 64),
                "Chunks of one job copied at once. Applies to new clients."),
        /** The most destinations a job may have. */
        MAX_DESTINATIONS("maxDestinations", EngineSettings.MAX_DESTINATIONS,
                Range.between(1, EngineSettings.MAX_DESTINATIONS),
                "Most destination regions a job may have. Applies to new clients."),
        /** Jobs a client accepts before submissions wait. */
        MAX_QUEUED_JOBS("maxQueuedJobs", 4096, Range.between(1, 1_000_000),
                "Jobs a client holds before submissions wait (or fail with NO_WAIT). Live."),
        /** Threads issuing device I/O, shared by the factory's clients. */
        IO_THREADS("ioThreads", 4, Range.between(1, 256),
                "Threads issuing device reads and writes, shared by all clients. Live."),
        /** The default throttle's time share in percent; 100 is none. */
        THROTTLE_IO_PERCENT("throttleIoPercent", 100, Range.between(1, 100),
                "Share of wall time the default throttle's clients may have I/O outstanding; 100 = unthrottled. "
                        + "Live."),
        /** The default throttle's bandwidth cap in bytes per second; 0 is none. */
        THROTTLE_BYTES_PER_SECOND("throttleBytesPerSecond", 0L, Range.between(4096, 1_000_000_000_000L).orZero(),
                "Bandwidth cap of the default throttle in source bytes read per second; 0 = none. Live."),
        /** Whether devices are opened with O_DIRECT unless told otherwise. */
        DIRECT_IO("directIo", false, Range.BOOLEAN,
                "Open devices with O_DIRECT (bypassing the page cache) even when not asked to. Applies to devices "
                        + "opened afterwards.");

        private final String propertyName;
        private final Object defaultValue;
        private final Range range;
        private final String description;

        Setting(String propertyName, Object defaultValue, Range range, String description) {
            this.propertyName = propertyName;
            this.defaultValue = defaultValue;
            this.range = range;
            this.description = description;
        }

        /** @return the configuration property name, also the key in {@link EngineSettings#toMap()} */
        public String propertyName() {
            return propertyName;
        }

        /**
         * @return the default: an {@link Integer}, a {@link Long} or a {@link Boolean}, the type of
         *         this setting's value in {@link EngineSettings#toMap()}
         */
        public Object defaultValue() {
            return defaultValue;
        }

        /**
         * @return the smallest allowed value (0 for {@link #THROTTLE_BYTES_PER_SECOND}, where it
         *         means none; 0, standing for {@code false}, for {@link #DIRECT_IO})
         */
        public long min() {
            return range.zeroAllowed() ? 0 : range.min();
        }

        /** @return the largest allowed value (1, standing for {@code true}, for {@link #DIRECT_IO}) */
        public long max() {
            return range.max();
        }

        /**
         * @param value a value of this setting (for {@link #DIRECT_IO}, 0 or 1 for false or true)
         * @return whether the setting accepts it
         */
        public boolean allows(long value) {
            return range.allows(value);
        }

        /**
         * @return the allowed values as error messages and the Metatype description write them,
         *         e.g. {@code 1..262144}, {@code 4..16384, a multiple of 4},
         *         {@code 0 or 4096..1000000000000}, {@code true or false}
         */
        public String range() {
            return range.text();
        }

        /** @return what the setting does and when a change takes effect, one or two sentences */
        public String description() {
            return description;
        }

        private long bits(Object value) {
            return value instanceof Boolean b ? (b ? 1 : 0) : ((Number) value).longValue();
        }

        private Object boxed(long bits) {
            if (defaultValue instanceof Boolean) {
                return bits != 0;
            }
            if (defaultValue instanceof Integer) {
                return (int) bits;
            }
            return bits;
        }

        /** @throws IllegalArgumentException naming this setting, the value and the allowed range */
        private long check(long value) {
            if (!range.inInterval(value)) {
                throw new IllegalArgumentException(propertyName + " " + value + " is outside the allowed range "
                        + range.interval());
            }
            if (value % range.step() != 0) {
                throw new IllegalArgumentException(propertyName + " " + value + " is not a multiple of "
                        + range.stepName());
            }
            return value;
        }

        /** Converts and checks a configuration value: a number, a Boolean, or a String holding either. */
        private long parse(Object value) {
            if (defaultValue instanceof Boolean) {
                if (value instanceof Boolean b) {
                    return bits(b);
                }
                if (value instanceof String text && (text.trim().equalsIgnoreCase("true")
                        || text.trim().equalsIgnoreCase("false"))) {
                    return bits(Boolean.parseBoolean(text.trim()));
                }
                throw new IllegalArgumentException(propertyName + " value '" + value + "' is not true or false");
            }
            if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
                return check(((Number) value).longValue());
            }
            if (value instanceof String text) {
                try {
                    return check(Long.parseLong(text.trim()));
                } catch (NumberFormatException e) {
                    // Reported below with the allowed range.
                }
            }
            throw new IllegalArgumentException(propertyName + " value '" + value + "' is not a whole number; the "
                    + "allowed range is " + range.interval());
        }
    }

    /**
     * Allowed values: {@code min..max}, optionally 0 too (meaning none) and a step.
     *
     * @param stepName how messages name the step ("the 4 KiB page")
     */
    private record Range(long min, long max, boolean zeroAllowed, long step, String stepName) {

        static final Range BOOLEAN = new Range(0, 1, false, 1, null);

        static Range between(long min, long max) {
            return new Range(min, max, false, 1, null);
        }

        Range orZero() {
            return new Range(min, max, true, step, stepName);
        }

        Range multipleOf(long newStep, String name) {
            return new Range(min, max, zeroAllowed, newStep, name);
        }

        boolean inInterval(long value) {
            return value >= min && value <= max || zeroAllowed && value == 0;
        }

        boolean allows(long value) {
            return inInterval(value) && value % step == 0;
        }

        String interval() {
            return (zeroAllowed ? "0 or " : "") + min + ".." + max;
        }

        String text() {
            if (this == BOOLEAN) {
                return "true or false";
            }
            return interval() + (step == 1 ? "" : ", a multiple of " + step);
        }
    }

    private static final Setting[] SETTINGS = Setting.values();
    private static final Map<String, Setting> BY_NAME;
    private static final long[] DEFAULTS = new long[SETTINGS.length];

    static {
        Map<String, Setting> byName = new LinkedHashMap<>();
        for (Setting s : SETTINGS) {
            byName.put(s.propertyName(), s);
            DEFAULTS[s.ordinal()] = s.bits(s.defaultValue());
        }
        BY_NAME = Collections.unmodifiableMap(byName);
    }

    /** Indexed by {@link Setting#ordinal()}; a Boolean is 0 or 1. */
    private final long[] values;

    private EngineSettings(long[] values) {
        this.values = values;
    }

    /** @return the defaults */
    public static EngineSettings defaults() {
        return builder().build();
    }

    /** @return a builder holding the defaults */
    public static Builder builder() {
        return new Builder(DEFAULTS);
    }

    /** @return a builder holding these settings */
    public Builder toBuilder() {
        return new Builder(values);
    }

    private int intValue(Setting s) {
        return (int) values[s.ordinal()];
    }

    /** @return pages reserved by a client created without a page count ({@link Setting#DEFAULT_PAGES}) */
    public int defaultPages() {
        return intValue(Setting.DEFAULT_PAGES);
    }

    /** @return the largest page count one client may reserve ({@link Setting#MAX_PAGES_PER_CLIENT}) */
    public int maxPagesPerClient() {
        return intValue(Setting.MAX_PAGES_PER_CLIENT);
    }

    /** @return pages all clients of one factory may reserve together ({@link Setting#PAGE_BUDGET}) */
    public int pageBudget() {
        return intValue(Setting.PAGE_BUDGET);
    }

    /** @return the chunk size jobs are split into, in KiB, a multiple of 4 ({@link Setting#SUB_JOB_KIB}) */
    public int subJobKiB() {
        return intValue(Setting.SUB_JOB_KIB);
    }

    /** @return chunks of one job in flight at once ({@link Setting#SUB_JOBS_PER_JOB}) */
    public int subJobsPerJob() {
        return intValue(Setting.SUB_JOBS_PER_JOB);
    }

    /** @return the most destinations a job may have ({@link Setting#MAX_DESTINATIONS}) */
    public int maxDestinations() {
        return intValue(Setting.MAX_DESTINATIONS);
    }

    /** @return jobs a client accepts before submissions wait ({@link Setting#MAX_QUEUED_JOBS}) */
    public int maxQueuedJobs() {
        return intValue(Setting.MAX_QUEUED_JOBS);
    }

    /** @return threads issuing device I/O, shared by the factory's clients ({@link Setting#IO_THREADS}) */
    public int ioThreads() {
        return intValue(Setting.IO_THREADS);
    }

    /** @return the default throttle's time share in percent, 100 = none ({@link Setting#THROTTLE_IO_PERCENT}) */
    public int throttleIoPercent() {
        return intValue(Setting.THROTTLE_IO_PERCENT);
    }

    /**
     * @return the default throttle's bandwidth cap in bytes/s, 0 = none
     *         ({@link Setting#THROTTLE_BYTES_PER_SECOND})
     */
    public long throttleBytesPerSecond() {
        return values[Setting.THROTTLE_BYTES_PER_SECOND.ordinal()];
    }

    /** @return whether devices are opened with O_DIRECT unless told otherwise ({@link Setting#DIRECT_IO}) */
    public boolean directIo() {
        return values[Setting.DIRECT_IO.ordinal()] != 0;
    }

    /**
     * @return every setting by its name (the configuration property names), values as
     *         {@link Integer}, {@link Long} or {@link Boolean}; in declaration order
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Setting s : SETTINGS) {
            m.put(s.propertyName(), s.boxed(values[s.ordinal()]));
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineSettings s && Arrays.equals(values, s.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        StringJoiner text = new StringJoiner(", ", "EngineSettings[", "]");
        toMap().forEach((name, value) -> text.add(name + "=" + value));
        return text.toString();
    }

    /** Builder of {@link EngineSettings}; starts from the defaults. Not thread-safe. */
    public static final class Builder {
        private final long[] values;

        private Builder(long[] values) {
            this.values = values.clone();
        }

        /**
         * Sets one setting by its configuration property name, converting the value: the way a
         * Config Admin dictionary, a properties file or a command line is applied.
         *
         * @param name  a name from {@link EngineSettings#toMap()}
         * @param value a {@link Number}, a {@link Boolean} for {@code directIo}, or a String
         *              holding either
         * @return this builder
         * @throws IllegalArgumentException naming the setting, the value and the allowed range
         *         when the name is unknown, the value has the wrong type or is out of range
         */
        public Builder set(String name, Object value) {
            Objects.requireNonNull(name, "setting name");
            Setting s = BY_NAME.get(name);
            if (s == null) {
                throw new IllegalArgumentException("unknown setting '" + name + "'; known: " + BY_NAME.keySet());
            }
            values[s.ordinal()] = s.parse(value);
            return this;
        }

        private Builder put(Setting s, long value) {
            values[s.ordinal()] = s.check(value);
            return this;
        }

        /**
         * @param v see {@link Setting#DEFAULT_PAGES}
         * @return this builder
         */
        public Builder defaultPages(int v) {
            return put(Setting.DEFAULT_PAGES, v);
        }

        /**
         * @param v see {@link Setting#MAX_PAGES_PER_CLIENT}
         * @return this builder
         */
        public Builder maxPagesPerClient(int v) {
            return put(Setting.MAX_PAGES_PER_CLIENT, v);
        }

        /**
         * @param v see {@link Setting#PAGE_BUDGET}
         * @return this builder
         */
        public Builder pageBudget(int v) {
            return put(Setting.PAGE_BUDGET, v);
        }

        /**
         * @param v see {@link Setting#SUB_JOB_KIB}
         * @return this builder
         */
        public Builder subJobKiB(int v) {
            return put(Setting.SUB_JOB_KIB, v);
        }

        /**
         * @param v see {@link Setting#SUB_JOBS_PER_JOB}
         * @return this builder
         */
        public Builder subJobsPerJob(int v) {
            return put(Setting.SUB_JOBS_PER_JOB, v);
        }

        /**
         * @param v see {@link Setting#MAX_DESTINATIONS}
         * @return this builder
         */
        public Builder maxDestinations(int v) {
            return put(Setting.MAX_DESTINATIONS, v);
        }

        /**
         * @param v see {@link Setting#MAX_QUEUED_JOBS}
         * @return this builder
         */
        public Builder maxQueuedJobs(int v) {
            return put(Setting.MAX_QUEUED_JOBS, v);
        }

        /**
         * @param v see {@link Setting#IO_THREADS}
         * @return this builder
         */
        public Builder ioThreads(int v) {
            return put(Setting.IO_THREADS, v);
        }

        /**
         * @param v see {@link Setting#THROTTLE_IO_PERCENT}
         * @return this builder
         */
        public Builder throttleIoPercent(int v) {
            return put(Setting.THROTTLE_IO_PERCENT, v);
        }

        /**
         * @param v see {@link Setting#THROTTLE_BYTES_PER_SECOND}
         * @return this builder
         */
        public Builder throttleBytesPerSecond(long v) {
            return put(Setting.THROTTLE_BYTES_PER_SECOND, v);
        }

        /**
         * @param v whether devices default to O_DIRECT ({@link Setting#DIRECT_IO})
         * @return this builder
         */
        public Builder directIo(boolean v) {
            return put(Setting.DIRECT_IO, v ? 1 : 0);
        }

        /**
         * @return the settings
         * @throws IllegalArgumentException if defaultPages exceeds maxPagesPerClient or
         *         maxPagesPerClient exceeds pageBudget
         */
        public EngineSettings build() {
            notAbove(Setting.DEFAULT_PAGES, Setting.MAX_PAGES_PER_CLIENT);
            notAbove(Setting.MAX_PAGES_PER_CLIENT, Setting.PAGE_BUDGET);
            return new EngineSettings(values.clone());
        }

        private void notAbove(Setting lower, Setting upper) {
            long low = values[lower.ordinal()];
            long high = values[upper.ordinal()];
            if (low > high) {
                throw new IllegalArgumentException(lower.propertyName() + " " + low + " is above "
                        + upper.propertyName() + " " + high);
            }
        }
    }
}
