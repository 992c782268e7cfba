package org.kcopyd.api;

import java.util.Objects;

/**
 * Options for {@link KcopydClientFactory#createClient(ClientOptions)}. Immutable; build with
 * {@link #builder()}.
 */
public final class ClientOptions {

    private final String name;
    private final int pages;
    private final Throttle throttle;

    private ClientOptions(Builder b) {
        this.name = b.name;
        this.pages = b.pages;
        this.throttle = b.throttle;
    }

    /** @return a builder with no name (one is generated), the factory's default pages, and the default throttle */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the client name, or null to let the factory generate one */
    public String name() {
        return name;
    }

    /** @return the number of pages to reserve, or 0 for the factory's default */
    public int pages() {
        return pages;
    }

    /** @return the throttle, or null for the factory's default throttle */
    public Throttle throttle() {
        return throttle;
    }

    /** Builder of {@link ClientOptions}. Not thread-safe. */
    public static final class Builder {
        private String name;
        private int pages;
        private Throttle throttle;

        private Builder() {
        }

        /**
         * @param name a name for thread names and messages
         * @return this builder
         */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * @param pages pages of {@value KcopydClient#PAGE_SIZE} bytes to reserve, at least 1
         *              (the factory enforces its maximum)
         * @return this builder
         * @throws IllegalArgumentException if {@code pages < 1}
         */
        public Builder pages(int pages) {
            if (pages < 1) {
                throw new IllegalArgumentException("pages " + pages + " is below the minimum 1");
            }
            this.pages = pages;
            return this;
        }

        /**
         * @param throttle a throttle from {@link KcopydClientFactory#throttle(String)}
         * @return this builder
         */
        public Builder throttle(Throttle throttle) {
            this.throttle = Objects.requireNonNull(throttle, "throttle");
            return this;
        }

        /** @return the options */
        public ClientOptions build() {
            return new ClientOptions(this);
        }
    }
}
