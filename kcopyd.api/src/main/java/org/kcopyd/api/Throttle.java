package org.kcopyd.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A cap on copy I/O, shared by every client created with it (dm-kcopyd's throttle, plus a
 * bandwidth cap). Obtained from {@link KcopydClientFactory#throttle(String)}; changes take
 * effect at once for every client using it. Thread-safe.
 */
@ProviderType
public interface Throttle {

    /** @return the throttle's name */
    String name();

    /**
     * @return the share of wall time, 1..100 percent, during which this throttle's clients may
     *         have I/O outstanding; 100 means no time cap
     */
    int ioPercent();

    /**
     * Sets the time share.
     *
     * @param percent 1..100, the range of {@link EngineSettings.Setting#THROTTLE_IO_PERCENT}
     * @throws IllegalArgumentException if outside 1..100
     */
    void setIoPercent(int percent);

    /** @return the bandwidth cap in bytes read per second, 0 meaning no cap */
    long bytesPerSecond();

    /**
     * Sets the bandwidth cap (source bytes read per second across the clients).
     *
     * @param bytesPerSecond 0 for no cap, else 4096..10^12: the range of
     *        {@link EngineSettings.Setting#THROTTLE_BYTES_PER_SECOND}
     * @throws IllegalArgumentException if negative, between 1 and 4095, or above 10^12
     */
    void setBytesPerSecond(long bytesPerSecond);
}
