package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.control.ControlException;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;

/**
 * A removal answers only once the removed device has let go of its files: a mirror writes its
 * region log's clean state, a snapshot its COW store's last metadata, when it closes, which can be
 * after Declarative Services stopped reporting the component.
 */
class RemovalWaitsForReleaseTest {

    @TempDir
    Path dir;

    @Test
    void waitsUntilTheFilesAreReleasedThenReturns() throws Exception {
        Path log = Files.write(dir.resolve("m.log"), new byte[512]);
        Path leg = Files.write(dir.resolve("a.img"), new byte[512]);
        Configurations configurations = new Configurations(null, null, null, Duration.ofSeconds(30));
        FileClaim logClaim = FileClaims.claim(log, "the region log of mirror m");
        FileClaim legClaim = FileClaims.claim(leg, "leg 0 of mirror m");
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Void> removal = CompletableFuture.runAsync(() -> {
            started.countDown();
            configurations.awaitReleased("mirror", "m", List.of(log, leg));
        });
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

        logClaim.close();
        assertThat(removal).as("the leg is still held").isNotDone();
        legClaim.close();

        removal.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aFileStillHeldAfterTheWaitIsAFailureNamingIt() throws Exception {
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[512]);
        Configurations configurations = new Configurations(null, null, null, Duration.ofMillis(200));
        try (FileClaim held = FileClaims.claim(cow, "the COW store of snapshot s1")) {
            assertThatThrownBy(() -> configurations.awaitReleased("snapshot", "s1", List.of(cow)))
                    .isInstanceOf(ControlException.class)
                    .hasMessage("snapshot 's1': its configuration is deleted but " + cow + " is still held after 0 s");
        }
    }

    @Test
    void filesNobodyHoldsReturnAtOnce() throws Exception {
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[512]);
        new Configurations(null, null, null, Duration.ofMillis(1)).awaitReleased("snapshot", "s1",
                List.of(cow, dir.resolve("never-made.cow")));
    }
}
