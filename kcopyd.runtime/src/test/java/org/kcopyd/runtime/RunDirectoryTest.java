package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's private directory, and the sweep that removes killed runs' leftovers and nothing else. */
class RunDirectoryTest {

    @TempDir
    Path tmp;

    /** The id of a process that has ended (ids are reused only after many others). */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return p.pid();
    }

    private Path leftover(long pid, boolean locked) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("kcopyd-" + pid + "-12345"));
        Files.createDirectories(d.resolve("osgi.1.fw/bundle0"));
        Files.writeString(d.resolve("resource1.jar"), "copy of a jar");
        if (locked) {
            Files.writeString(d.resolve("lock"), "");
        }
        return d;
    }

    @Test
    void aRunsDirectoryIsPrivateLockedAndRemovedWithEverythingInIt() throws Exception {
        RunDirectory run = RunDirectory.create(tmp);

        assertThat(run.path().getParent()).isEqualTo(tmp);
        assertThat(run.path().getFileName().toString()).matches("kcopyd-" + ProcessHandle.current().pid() + "-\\d+");
        assertThat(Files.getPosixFilePermissions(run.path())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(run.path().resolve("lock")).isRegularFile();
        Files.createDirectories(run.path().resolve("osgi.1.fw/bundle3/version0.0"));
        Files.writeString(run.path().resolve("osgi.1.fw/bundle3/version0.0/bundle.jar"), "x");

        run.delete();

        assertThat(run.path()).doesNotExist();
    }

    @Test
    void theSweepRemovesTheLeftoversOfEndedRunsOnly() throws Exception {
        long dead = deadPid();
        Path killed = leftover(dead, true);
        Path killedBeforeLocking = leftover(dead, false);
        Files.setLastModifiedTime(killedBeforeLocking, FileTime.from(Instant.now().minusSeconds(3600)));
        Path justMade = Files.createDirectories(tmp.resolve("kcopyd-" + dead + "-777"));
        Path living = leftover(ProcessHandle.current().pid(), true);
        Path notOurs = Files.createDirectories(tmp.resolve("kcopyd-cache"));
        Path file = Files.writeString(tmp.resolve("kcopyd-" + dead + "-55"), "a file, not a run's directory");
        Path target = Files.createDirectories(tmp.resolve("target"));
        Files.writeString(target.resolve("precious"), "x");
        Path link = Files.createSymbolicLink(tmp.resolve("kcopyd-" + dead + "-66"), target);

        RunDirectory run = RunDirectory.create(tmp);
        try {
            assertThat(killed).doesNotExist();
            assertThat(killedBeforeLocking).doesNotExist();
            assertThat(justMade).as("no lock yet, and new: maybe a run starting right now").isDirectory();
            assertThat(living).isDirectory();
            assertThat(notOurs).isDirectory();
            assertThat(file).isRegularFile();
            assertThat(Files.isSymbolicLink(link)).isTrue();
            assertThat(target.resolve("precious")).isRegularFile();
            assertThat(run.path()).isDirectory();
        } finally {
            run.delete();
        }
    }
}
