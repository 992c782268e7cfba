package org.kcopyd.device;

import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/** Small helpers for code that waits on {@link org.kcopyd.api.BlockDevice} stages. */
public final class BlockIo {

    private BlockIo() {
    }

    /**
     * Waits for a device operation, for code that must block (metadata updates, tests): the
     * stage's failure is rethrown as the {@link IOException} it carries, or wrapped in one.
     *
     * @param stage a stage returned by a device
     * @throws IOException if the operation failed
     */
    public static void await(CompletionStage<Void> stage) throws IOException {
        try {
            stage.toCompletableFuture().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }
}
