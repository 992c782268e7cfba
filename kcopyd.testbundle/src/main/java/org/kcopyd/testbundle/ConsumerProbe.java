package org.kcopyd.testbundle;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

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
}
