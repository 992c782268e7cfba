package org.kcopyd.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark's own directory: made fresh inside the user's, and only what it made is removed. */
class ScratchDirectoryTest {

    @TempDir
    Path parent;

    private long entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void isANewDirectoryInsideTheParentAndIsRemovedWithTheFilesItMade() throws IOException {
        Files.writeString(parent.resolve("src.img"), "the user's");

        ScratchDirectory scratch = ScratchDirectory.createIn(parent);
        Files.writeString(scratch.file("src.img"), "the benchmark's");
        scratch.file("never-made.img");

        assertThat(scratch.path().getParent()).isEqualTo(parent);
        assertThat(scratch.path().getFileName().toString()).startsWith("kcopyd-bench-");
        assertThat(scratch.remove()).isTrue();
        assertThat(scratch.path()).doesNotExist();
        assertThat(Files.readString(parent.resolve("src.img"))).isEqualTo("the user's");
        assertThat(entries(parent)).isEqualTo(1);
    }

    @Test
    void aFileItDidNotMakeIsLeftAndSoIsTheDirectory() throws IOException {
        ScratchDirectory scratch = ScratchDirectory.createIn(parent);
        Files.writeString(scratch.file("dst.img"), "the benchmark's");
        Files.writeString(scratch.path().resolve("someone-elses.txt"), "keep");

        assertThat(scratch.remove()).isFalse();

        assertThat(scratch.path().resolve("dst.img")).doesNotExist();
        assertThat(Files.readString(scratch.path().resolve("someone-elses.txt"))).isEqualTo("keep");
    }

    @Test
    void aTreeAProgramMadeIsRemovedWholeAndALinkInItIsRemovedNotFollowed() throws IOException {
        Path outside = Files.createDirectory(parent.resolve("users-dir"));
        Files.writeString(outside.resolve("keep.txt"), "the user's");
        ScratchDirectory scratch = ScratchDirectory.createIn(parent);
        Path state = scratch.tree("state");
        Files.createDirectories(state.resolve("config"));
        Files.writeString(state.resolve("config").resolve("a.config"), "x");
        Files.writeString(state.resolve("lock"), "1");
        Files.createSymbolicLink(state.resolve("link"), outside);

        assertThat(scratch.remove()).isTrue();

        assertThat(scratch.path()).doesNotExist();
        assertThat(Files.readString(outside.resolve("keep.txt"))).isEqualTo("the user's");
    }

    @Test
    void twoRunsInTheSameParentGetTwoDirectories() throws IOException {
        ScratchDirectory a = ScratchDirectory.createIn(parent);
        ScratchDirectory b = ScratchDirectory.createIn(parent);

        assertThat(a.path()).isNotEqualTo(b.path());
        assertThat(a.remove()).isTrue();
        assertThat(b.path()).isDirectory();
    }
}
