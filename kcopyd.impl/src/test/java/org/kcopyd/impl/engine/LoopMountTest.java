package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.LoopMount;
import org.kcopyd.testdevices.Peers;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * The helpers {@link ReflinkCopyTest} stands on: {@link Peers#missing} skips naming what is
 * missing, or fails when peers are required; {@link LoopMount} refuses an image below its file
 * system's least size naming both, and its close unmounts, deletes the image and the directory,
 * and may be called again.
 */
class LoopMountTest {

    @TempDir
    Path dir;

    @Test
    void somethingMissingSkipsOrFailsNamingIt() {
        assertThatThrownBy(() -> Peers.missing("needs root and loop devices", false))
                .isInstanceOf(TestAbortedException.class).hasMessage("needs root and loop devices");
        assertThatThrownBy(() -> Peers.missing("needs root and loop devices", true))
                .isInstanceOf(AssertionFailedError.class).hasMessageContaining("needs root and loop devices")
                .hasMessageContaining("kcopyd.peers.required=true");
    }

    @Test
    void anImageBelowTheLeastSizeIsRefusedNamingBoth() {
        assertThatThrownBy(() -> LoopMount.create(LoopMount.Kind.XFS, dir.resolve("x.img"), dir.resolve("x"),
                100L << 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(String.valueOf(100L << 20)).hasMessageContaining(String.valueOf(300L << 20))
                .hasMessageContaining("xfs");
        assertThat(dir.resolve("x.img")).doesNotExist();
    }

    @Test
    void closeUnmountsAndDeletesTheImageAndTheDirectoryOnce() throws IOException {
        LoopMount.Kind kind = LoopMount.Kind.XFS;
        String missing = LoopMount.unavailable(kind);
        if (missing != null) {
            Peers.missing(missing);
        }
        Path image = dir.resolve("x.img");
        Path at = dir.resolve("x");
        LoopMount m;
        try {
            m = LoopMount.create(kind, image, at, kind.leastBytes());
        } catch (IOException e) {
            Peers.missing("the kernel did not mount a " + kind.type() + " image: " + e.getMessage());
            return;
        }
        try {
            assertThat(Files.getFileStore(at).type()).isEqualTo("xfs");
            assertThat(mounts()).contains(" " + at + " ");
        } finally {
            m.close();
        }
        assertThat(mounts()).doesNotContain(" " + at + " ");
        assertThat(image).doesNotExist();
        assertThat(at).doesNotExist();
        m.close();
    }

    private static String mounts() throws IOException {
        return Files.readString(Path.of("/proc/self/mounts"));
    }
}
