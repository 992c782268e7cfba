package org.kcopyd.api;

/**
 * The engine's configuration, with the defaults and ranges that the OSGi configuration
 * (PID {@code org.kcopyd.engine}) exposes under the same names. Immutable; build with
 * {@link #builder()}. Every setter checks its range and throws
 * {@link IllegalArgumentException} naming the setting, the value and the allowed range.
 */
public final class EngineSettings {

    /** Largest number of destinations a job may have (the width of the write error bit set). */
    public static final int MAX_DESTINATIONS = 64;

    private final int defaultPages;
    private final int maxPagesPerClient;
    private final int pageBudget;
    private final int subJobKiB;
    private final int subJobsPerJob;
    private final int maxDestinations;
    private final int maxQueuedJobs;
    private final int ioThreads;
    private final int throttleIoPercent;
    private final long throttleBytesPerSecond;
    private final boolean directIo;

    private EngineSettings(Builder b) {
        if (b.defaultPages > b.maxPagesPerClient) {
            throw new IllegalArgumentException("defaultPages " + b.defaultPages + " is above maxPagesPerClient "
                    + b.maxPagesPerClient);
        }
        if (b.maxPagesPerClient > b.pageBudget) {
            throw new IllegalArgumentException("maxPagesPerClient " + b.maxPagesPerClient + " is above pageBudget "
                    + b.pageBudget);
        }
        this.defaultPages = b.defaultPages;
        this.maxPagesPerClient = b.maxPagesPerClient;
        this.pageBudget = b.pageBudget;
        this.subJobKiB = b.subJobKiB;
        this.subJobsPerJob = b.subJobsPerJob;
        this.maxDestinations = b.maxDestinations;
        this.maxQueuedJobs = b.maxQueuedJobs;
        this.ioThreads = b.ioThreads;
        this.throttleIoPercent = b.throttleIoPercent;
        this.throttleBytesPerSecond = b.throttleBytesPerSecond;
        this.directIo = b.directIo;
    }

    /** @return the defaults */
    public static EngineSettings defaults() {
        return builder().build();
    }

    /** @return a builder holding the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding these settings */
    public Builder toBuilder() {
        return new Builder().defaultPages(defaultPages).maxPagesPerClient(maxPagesPerClient).pageBudget(pageBudget)
                .subJobKiB(subJobKiB).subJobsPerJob(subJobsPerJob).maxDestinations(maxDestinations)
                .maxQueuedJobs(maxQueuedJobs).ioThreads(ioThreads).throttleIoPercent(throttleIoPercent)
                .throttleBytesPerSecond(throttleBytesPerSecond).directIo(directIo);
    }

    /** @return pages reserved by a client created without a page count (default 2048 = 8 MiB) */
    public int defaultPages() {
        return defaultPages;
    }

    /** @return the largest page count one client may reserve (default 65536 = 256 MiB) */
    public int maxPagesPerClient() {
        return maxPagesPerClient;
    }

    /** @return pages all clients of one factory may reserve together (default 262144 = 1 GiB) */
    public int pageBudget() {
        return pageBudget;
    }

    /** @return the chunk size jobs are split into, in KiB (default 512; 4..16384, a multiple of 4) */
    public int subJobKiB() {
        return subJobKiB;
    }

    /** @return chunks of one job in flight at once (default 8; 1..64) */
    public int subJobsPerJob() {
        return subJobsPerJob;
    }

    /** @return the most destinations a job may have (default 64; 1..64) */
    public int maxDestinations() {
        return maxDestinations;
    }

    /** @return jobs a client accepts before submissions wait (default 4096; 1..1000000) */
    public int maxQueuedJobs() {
        return maxQueuedJobs;
    }

    /** @return threads issuing device I/O, shared by the factory's clients (default 4; 1..256) */
    public int ioThreads() {
        return ioThreads;
    }

    /** @return the default throttle's time share in percent (default 100 = none; 1..100) */
    public int throttleIoPercent() {
        return throttleIoPercent;
    }

    /** @return the default throttle's bandwidth cap in bytes/s (default 0 = none) */
    public long throttleBytesPerSecond() {
        return throttleBytesPerSecond;
    }

    /** @return whether devices are opened with O_DIRECT unless told otherwise (default false) */
    public boolean directIo() {
        return directIo;
    }

    /**
     * @return every setting by its name (the configuration property names), values as
     *         {@link Integer}, {@link Long} or {@link Boolean}; in declaration order
     */
    public java.util.Map<String, Object> toMap() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("defaultPages", defaultPages);
        m.put("maxPagesPerClient", maxPagesPerClient);
        m.put("pageBudget", pageBudget);
        m.put("subJobKiB", subJobKiB);
        m.put("subJobsPerJob", subJobsPerJob);
        m.put("maxDestinations", maxDestinations);
        m.put("maxQueuedJobs", maxQueuedJobs);
        m.put("ioThreads", ioThreads);
        m.put("throttleIoPercent", throttleIoPercent);
        m.put("throttleBytesPerSecond", throttleBytesPerSecond);
        m.put("directIo", directIo);
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineSettings s && s.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "EngineSettings[defaultPages=" + defaultPages + ", maxPagesPerClient=" + maxPagesPerClient
                + ", pageBudget=" + pageBudget + ", subJobKiB=" + subJobKiB + ", subJobsPerJob=" + subJobsPerJob
                + ", maxDestinations=" + maxDestinations + ", maxQueuedJobs=" + maxQueuedJobs + ", ioThreads="
                + ioThreads + ", throttleIoPercent=" + throttleIoPercent + ", throttleBytesPerSecond="
                + throttleBytesPerSecond + ", directIo=" + directIo + "]";
    }

    /** Builder of {@link EngineSettings}; starts from the defaults. Not thread-safe. */
    public static final class Builder {
        private int defaultPages = 2048;
        private int maxPagesPerClient = 65536;
        private int pageBudget = 262144;
        private int subJobKiB = 512;
        private int subJobsPerJob = 8;
        private int maxDestinations = MAX_DESTINATIONS;
        private int maxQueuedJobs = 4096;
        private int ioThreads = 4;
        private int throttleIoPercent = 100;
        private long throttleBytesPerSecond;
        private boolean directIo;

        private Builder() {
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
            java.util.Objects.requireNonNull(name, "setting name");
            switch (name) {
                case "defaultPages" -> defaultPages(whole(name, value, 1, 262144));
                case "maxPagesPerClient" -> maxPagesPerClient(whole(name, value, 1, 262144));
                case "pageBudget" -> pageBudget(whole(name, value, 1, 16777216));
                case "subJobKiB" -> subJobKiB(whole(name, value, 4, 16384));
                case "subJobsPerJob" -> subJobsPerJob(whole(name, value, 1, 64));
                case "maxDestinations" -> maxDestinations(whole(name, value, 1, MAX_DESTINATIONS));
                case "maxQueuedJobs" -> maxQueuedJobs(whole(name, value, 1, 1_000_000));
                case "ioThreads" -> ioThreads(whole(name, value, 1, 256));
                case "throttleIoPercent" -> throttleIoPercent(whole(name, value, 1, 100));
                case "throttleBytesPerSecond" -> throttleBytesPerSecond(
                        longValue(name, value, "0 or 4096..1000000000000"));
                case "directIo" -> directIo(bool(name, value));
                default -> throw new IllegalArgumentException("unknown setting '" + name + "'; known: "
                        + defaults().toMap().keySet());
            }
            return this;
        }

        private static int whole(String name, Object value, long min, long max) {
            return range(name, longValue(name, value, min + ".." + max), min, max);
        }

        private static long longValue(String name, Object value, String allowed) {
            if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
                return ((Number) value).longValue();
            }
            if (value instanceof String text) {
                try {
                    return Long.parseLong(text.trim());
                } catch (NumberFormatException e) {
                    // Reported below with the allowed range.
                }
            }
            throw new IllegalArgumentException(name + " value '" + value + "'"
                    + (value == null ? "" : " (" + value.getClass().getSimpleName() + ")")
                    + " is not a whole number; the allowed range is " + allowed);
        }

        private static boolean bool(String name, Object value) {
            if (value instanceof Boolean b) {
                return b;
            }
            if (value instanceof String text && (text.trim().equalsIgnoreCase("true")
                    || text.trim().equalsIgnoreCase("false"))) {
                return Boolean.parseBoolean(text.trim());
            }
            throw new IllegalArgumentException(name + " value '" + value + "' is not true or false");
        }

        private static int range(String name, long value, long min, long max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(name + " " + value + " is outside the allowed range " + min
                        + ".." + max);
            }
            return (int) value;
        }

        /**
         * @param v 1..262144
         * @return this builder
         */
        public Builder defaultPages(int v) {
            defaultPages = range("defaultPages", v, 1, 262144);
            return this;
        }

        /**
         * @param v 1..262144 (1 GiB)
         * @return this builder
         */
        public Builder maxPagesPerClient(int v) {
            maxPagesPerClient = range("maxPagesPerClient", v, 1, 262144);
            return this;
        }

        /**
         * @param v 1..16777216 (64 GiB)
         * @return this builder
         */
        public Builder pageBudget(int v) {
            pageBudget = range("pageBudget", v, 1, 16777216);
            return this;
        }

        /**
         * @param v 4..16384, a multiple of 4
         * @return this builder
         */
        public Builder subJobKiB(int v) {
            subJobKiB = range("subJobKiB", v, 4, 16384);
            if (v % 4 != 0) {
                throw new IllegalArgumentException("subJobKiB " + v + " is not a multiple of the 4 KiB page");
            }
            return this;
        }

        /**
         * @param v 1..64
         * @return this builder
         */
        public Builder subJobsPerJob(int v) {
            subJobsPerJob = range("subJobsPerJob", v, 1, 64);
            return this;
        }

        /**
         * @param v 1..64
         * @return this builder
         */
        public Builder maxDestinations(int v) {
            maxDestinations = range("maxDestinations", v, 1, MAX_DESTINATIONS);
            return this;
        }

        /**
         * @param v 1..1000000
         * @return this builder
         */
        public Builder maxQueuedJobs(int v) {
            maxQueuedJobs = range("maxQueuedJobs", v, 1, 1_000_000);
            return this;
        }

        /**
         * @param v 1..256
         * @return this builder
         */
        public Builder ioThreads(int v) {
            ioThreads = range("ioThreads", v, 1, 256);
            return this;
        }

        /**
         * @param v 1..100
         * @return this builder
         */
        public Builder throttleIoPercent(int v) {
            throttleIoPercent = range("throttleIoPercent", v, 1, 100);
            return this;
        }

        /**
         * @param v 0 (no cap) or 4096..10^12
         * @return this builder
         */
        public Builder throttleBytesPerSecond(long v) {
            if (v != 0) {
                range("throttleBytesPerSecond", v, 4096, 1_000_000_000_000L);
            }
            throttleBytesPerSecond = v;
            return this;
        }

        /**
         * @param v whether devices default to O_DIRECT
         * @return this builder
         */
        public Builder directIo(boolean v) {
            directIo = v;
            return this;
        }

        /**
         * @return the settings
         * @throws IllegalArgumentException if defaultPages exceeds maxPagesPerClient or
         *         maxPagesPerClient exceeds pageBudget
         */
        public EngineSettings build() {
            return new EngineSettings(this);
        }
    }
}
