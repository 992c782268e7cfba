package org.kcopyd.impl.osgi;

import org.kcopyd.api.KcopydClientFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The engine's configuration (PID {@value KcopydClientFactory#PID}) as operators see it in the Felix
 * web console, Karaf's {@code config:} commands or a {@code .cfg} file.
 *
 * <p>A copy of {@link org.kcopyd.api.EngineSettings.Setting}, the table that
 * {@link org.kcopyd.api.EngineSettings} checks configurations against: annotations take only
 * constants, so names, defaults, ranges and descriptions are written out here, each description
 * followed by the setting's range so that the console shows it. {@code EngineConfigurationTest}
 * keeps this copy equal to the table.
 */
@ObjectClassDefinition(id = KcopydClientFactory.PID, name = "kcopyd engine",
        description = "The kcopyd copy engine: buffer pages, job splitting, admission, I/O threads and the "
                + "default throttle. Live settings (admission bound, throttle, I/O threads) apply to existing "
                + "clients at once; the others to clients created afterwards.")
@interface EngineConfiguration {

    @AttributeDefinition(name = "Default pages per client", min = "1", max = "262144",
            description = "Pages of 4 KiB reserved by a client created without a page count (2048 = 8 MiB); at most "
                    + "maxPagesPerClient. Applies to new clients. Range: 1..262144.")
    int defaultPages() default 2048;

    @AttributeDefinition(name = "Maximum pages per client", min = "1", max = "262144",
            description = "Largest page count one client may reserve (65536 = 256 MiB; 262144 = 1 GiB); at most "
                    + "pageBudget. Applies to new clients. Range: 1..262144.")
    int maxPagesPerClient() default 65536;

    @AttributeDefinition(name = "Page budget", min = "1", max = "16777216",
            description = "Pages all clients of the factory may reserve together (262144 = 1 GiB; 16777216 = 64 GiB). "
                    + "Creating a client beyond it fails. Range: 1..16777216.")
    int pageBudget() default 262144;

    @AttributeDefinition(name = "Sub-job size (KiB)", min = "4", max = "16384",
            description = "Jobs are split into chunks of this size. Applies to new clients. "
                    + "Range: 4..16384, a multiple of 4.")
    int subJobKiB() default 512;

    @AttributeDefinition(name = "Sub-jobs in flight per job", min = "1", max = "64",
            description = "Chunks of one job copied at once. Applies to new clients. Range: 1..64.")
    int subJobsPerJob() default 8;

    @AttributeDefinition(name = "Maximum destinations", min = "1", max = "64",
            description = "Most destination regions a job may have. Applies to new clients. Range: 1..64.")
    int maxDestinations() default 64;

    @AttributeDefinition(name = "Admission bound", min = "1", max = "1000000",
            description = "Jobs a client holds before submissions wait (or fail with NO_WAIT). Live. "
                    + "Range: 1..1000000.")
    int maxQueuedJobs() default 4096;

    @AttributeDefinition(name = "I/O threads", min = "1", max = "256",
            description = "Threads issuing device reads and writes, shared by all clients. Live. Range: 1..256.")
    int ioThreads() default 4;

    @AttributeDefinition(name = "Throttle: I/O time share (%)", min = "1", max = "100",
            description = "Share of wall time the default throttle's clients may have I/O outstanding; "
                    + "100 = unthrottled. Live. Range: 1..100.")
    int throttleIoPercent() default 100;

    @AttributeDefinition(name = "Throttle: bytes per second", min = "0", max = "1000000000000",
            description = "Bandwidth cap of the default throttle in source bytes read per second; 0 = none. Live. "
                    + "Range: 0 or 4096..1000000000000.")
    long throttleBytesPerSecond() default 0;

    @AttributeDefinition(name = "Direct I/O by default",
            description = "Open devices with O_DIRECT (bypassing the page cache) even when not asked to. "
                    + "Applies to devices opened afterwards.")
    boolean directIo() default false;
}
