package org.kcopyd.testbundle;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.osgi.annotation.versioning.ProviderType;

/** What the test consumer lets the tests see and do. */
@ProviderType
public interface ConsumerProbe {

    /** @return "bind ID" and "unbind ID" (service ids of the factory), in the order they happened */
    List<String> events();

    /** @return true while a factory is bound */
    boolean isBound();

    /** @return the page count of the client made from the bound factory */
    int clientPages();

    /**
     * Copies through the client made from the bound factory.
     *
     * @param from  source region
     * @param to    destination region
     * @param jobId counted in {@link #deliveries()} when the callback runs
     * @return the job's stage
     * @throws IllegalStateException if no factory is bound
     */
    CompletionStage<CopyResult> copy(IoRegion from, IoRegion to, int jobId);

    /** @return for each job id, how many times its callback ran */
    Map<Integer, Integer> deliveries();

    /**
     * Starts copying continuously from a thread of this bundle through whichever client it holds
     * at the moment (waiting while it holds none), up to {@code inFlight} jobs at a time. Each job
     * copies a random range of 1 to {@code maxSectors} sectors of {@code source} to the same range
     * of {@code target}. Submissions refused because the client closed are counted, not retried.
     *
     * @param source     read from; must not change during the load
     * @param target     written to
     * @param inFlight   most jobs outstanding at once
     * @param maxSectors largest job, in sectors
     * @param seed       the ranges' random seed
     * @throws IllegalStateException if a load is running already
     */
    void startLoad(BlockDevice source, BlockDevice target, int inFlight, int maxSectors, long seed);

    /**
     * @return what the running load has done so far
     * @throws IllegalStateException if no load is running
     */
    LoadReport loadProgress();

    /**
     * @return how many jobs of the running load have completed so far (cheaper than
     *         {@link #loadProgress()}, for waiting on progress)
     * @throws IllegalStateException if no load is running
     */
    int loadCompleted();

    /**
     * Stops submitting and waits for every accepted job to complete.
     *
     * @param timeoutMillis how long the jobs may take
     * @return the final report; a job that did not complete in time is one of its problems
     * @throws IllegalStateException if no load is running
     * @throws InterruptedException  if interrupted while waiting
     */
    LoadReport stopLoad(long timeoutMillis) throws InterruptedException;
}
