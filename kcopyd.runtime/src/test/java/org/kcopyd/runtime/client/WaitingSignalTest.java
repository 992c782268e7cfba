package org.kcopyd.runtime.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM or SIGINT while a command waits for the daemon (mirror create --wait, snapshot merge,
 * copy --daemon, jobs cancel): the JVM runs its shutdown hooks and exits with 143 or 130, so the
 * wait's hook is what speaks. Here the hooks are recorded instead of given to the JVM, and the
 * test runs the registered hook on a thread of its own while the client polls the fake daemon,
 * as the JVM does at a signal: one line on standard error saying that the work goes on in the
 * daemon and the command that follows it. A wait that ends by itself removes its hook, so the
 * client's normal exit (System.exit, which runs the hooks still registered) says nothing.
 */
class WaitingSignalTest {

    @TempDir
    Path dir;
    FakeDaemon daemon;
    Path cwd;

    /** Shutdown hooks as the client registers and removes them. */
    static final class RecordedHooks implements ShutdownHooks {
        final List<Thread> added = new CopyOnWriteArrayList<>();
        final List<Thread> removed = new CopyOnWriteArrayList<>();

        @Override
        public void add(Thread hook) {
            added.add(hook);
        }

        @Override
        public void remove(Thread hook) {
            removed.add(hook);
        }

        /** @return the hooks registered now */
        List<Thread> registered() {
            List<Thread> now = new java.util.ArrayList<>(added);
            now.removeAll(removed);
            return now;
        }
    }

    @BeforeEach
    void start() throws IOException {
        daemon = new FakeDaemon(dir.resolve("state"));
        cwd = dir.resolve("work");
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    /**
     * Runs {@code args} on a thread of its own; once it has polled {@code poll} twice, runs its
     * registered hook as the JVM does at a signal; then lets the wait end with {@code ended}.
     *
     * @return the run; the hooks are checked: one registered, removed when the wait ended
     */
    private FakeDaemon.Run signalledWhileWaiting(String poll, String ended, String... args) throws Exception {
        RecordedHooks hooks = new RecordedHooks();
        CompletableFuture<FakeDaemon.Run> run = CompletableFuture.supplyAsync(() -> daemon.run(hooks, cwd, args));
        await().atMost(Duration.ofSeconds(30)).until(() -> daemon.requests.stream()
                .filter(q -> ("GET " + q.path()).equals(poll)).count() >= 2 || run.isDone());
        assertThat(run).as("the command is still waiting").isNotDone();
        assertThat(hooks.registered()).as("one hook while it waits").hasSize(1);
        Thread hook = hooks.registered().get(0);
        // The JVM at SIGTERM or SIGINT: every registered hook on its own thread.
        hook.start();
        hook.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(hook.isAlive()).isFalse();

        String path = poll.substring("GET ".length());
        daemon.forget("GET", path).answer("GET", path, 200, ended);
        FakeDaemon.Run r = run.get(30, TimeUnit.SECONDS);
        assertThat(hooks.removed).as("the hook is removed when the wait ends").containsExactly(hook);
        return r;
    }

    @Test
    void mirrorCreateWaitSaysTheResyncGoesOnAndHowToFollowIt() throws Exception {
        daemon.answer("POST", "/api/v1/mirrors", 201, ThinClientCommandsTest.MIRROR);
        daemon.answer("GET", "/api/v1/mirrors/m1", 200, ThinClientCommandsTest.MIRROR);

        FakeDaemon.Run r = signalledWhileWaiting("GET /api/v1/mirrors/m1", ThinClientCommandsTest.MIRROR_IN_SYNC,
                "mirror", "create", "m1", "m1.log", "a.img", "b.img", "--wait");

        assertThat(r.err()).isEqualTo("kcopyd mirror create: stopped waiting; the resync of mirror m1 goes on in the "
                + "daemon: kcopyd mirror status m1 --state " + daemon.state() + " shows it\n");
    }

    @Test
    void snapshotMergeSaysTheMergeGoesOn() throws Exception {
        String merge = ThinClientCommandsTest.JOB_RUNNING.replace("\"copy\"", "\"merge\"");
        daemon.answer("GET", "/api/v1/snapshots/s1", 200, ThinClientCommandsTest.SNAPSHOT);
        daemon.answer("POST", "/api/v1/snapshots/s1/merge", 202, merge);
        daemon.answer("GET", "/api/v1/jobs/7", 200, merge);

        FakeDaemon.Run r = signalledWhileWaiting("GET /api/v1/jobs/7", ThinClientCommandsTest.JOB_DONE
                .replace("\"copy\"", "\"merge\""), "snapshot", "merge", "s1");

        assertThat(r.err()).isEqualTo("kcopyd snapshot merge: stopped waiting; merge job 7 of snapshot s1 goes on in "
                + "the daemon: kcopyd jobs 7 --state " + daemon.state() + " shows it\n");
    }

    @Test
    void copyDaemonSaysTheJobGoesOnAndHowToStopIt() throws Exception {
        daemon.answer("POST", "/api/v1/jobs", 202, ThinClientCommandsTest.JOB_RUNNING);
        daemon.answer("GET", "/api/v1/jobs/7", 200, ThinClientCommandsTest.JOB_RUNNING);

        FakeDaemon.Run r = signalledWhileWaiting("GET /api/v1/jobs/7", ThinClientCommandsTest.JOB_DONE, "copy",
                "--daemon", "/w/a.img", "/w/b.img");

        assertThat(r.err()).isEqualTo("kcopyd copy: stopped waiting; job 7 goes on in the daemon: kcopyd jobs 7 "
                + "--state " + daemon.state() + " shows it, kcopyd jobs cancel 7 --state " + daemon.state()
                + " stops it\n");
    }

    @Test
    void jobsCancelSaysTheCancellingGoesOn() throws Exception {
        String cancelling = ThinClientCommandsTest.JOB_RUNNING.replace("\"running\"", "\"cancelling\"");
        daemon.answer("POST", "/api/v1/jobs/7/cancel", 200, cancelling);
        daemon.answer("GET", "/api/v1/jobs/7", 200, cancelling);

        FakeDaemon.Run r = signalledWhileWaiting("GET /api/v1/jobs/7", ThinClientCommandsTest.JOB_CANCELLED, "jobs",
                "cancel", "7");

        assertThat(r.err()).isEqualTo("kcopyd jobs cancel: stopped waiting; the cancelling of job 7 goes on in the "
                + "daemon: kcopyd jobs 7 --state " + daemon.state() + " shows it\n");
    }

    /** Said with --json too (standard output has no answer then); and without --state, the follow-up has none. */
    @Test
    void withJsonAndTheDefaultStateTheLineIsSaidToo() throws Exception {
        daemon.answer("POST", "/api/v1/jobs", 202, ThinClientCommandsTest.JOB_RUNNING);
        daemon.answer("GET", "/api/v1/jobs/7", 200, ThinClientCommandsTest.JOB_RUNNING);
        RecordedHooks hooks = new RecordedHooks();
        CompletableFuture<FakeDaemon.Run> run = CompletableFuture.supplyAsync(() -> FakeDaemon.client(hooks, cwd,
                java.util.Map.of("KCOPYD_STATE", daemon.state().toString()), "--json", "copy", "--daemon", "/w/a.img",
                "/w/b.img"));
        await().atMost(Duration.ofSeconds(30)).until(() -> !hooks.registered().isEmpty() || run.isDone());
        Thread hook = hooks.registered().get(0);
        hook.start();
        hook.join(TimeUnit.SECONDS.toMillis(30));
        daemon.forget("GET", "/api/v1/jobs/7").answer("GET", "/api/v1/jobs/7", 200, ThinClientCommandsTest.JOB_DONE);
        FakeDaemon.Run r = run.get(30, TimeUnit.SECONDS);

        assertThat(r.err()).isEqualTo("kcopyd copy: stopped waiting; job 7 goes on in the daemon: kcopyd jobs 7 shows "
                + "it, kcopyd jobs cancel 7 stops it\n");
    }

    /** A wait that ends by itself removes its hook: the client's exit runs no hook, and nothing is said. */
    @Test
    void aWaitThatEndsRemovesItsHookAndSaysNothing() {
        daemon.answer("POST", "/api/v1/jobs", 202, ThinClientCommandsTest.JOB_RUNNING);
        daemon.answer("GET", "/api/v1/jobs/7", 200, ThinClientCommandsTest.JOB_RUNNING);
        daemon.answer("GET", "/api/v1/jobs/7", 200, ThinClientCommandsTest.JOB_DONE);
        RecordedHooks hooks = new RecordedHooks();

        FakeDaemon.Run r = daemon.run(hooks, cwd, "copy", "--daemon", "/w/a.img", "/w/b.img");

        assertThat(r.exit()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(hooks.added).hasSize(1);
        assertThat(hooks.removed).isEqualTo(hooks.added);
        assertThat(hooks.registered()).isEmpty();
    }

    /** Commands that do not wait register nothing (a job already ended, --no-wait). */
    @Test
    void commandsThatDoNotWaitRegisterNoHook() {
        daemon.answer("POST", "/api/v1/jobs", 202, ThinClientCommandsTest.JOB_DONE);
        RecordedHooks hooks = new RecordedHooks();

        assertThat(daemon.run(hooks, cwd, "copy", "--daemon", "/w/a.img", "/w/b.img").exit()).isZero();
        assertThat(daemon.run(hooks, cwd, "copy", "--daemon", "/w/a.img", "/w/b.img", "--no-wait").exit()).isZero();

        assertThat(hooks.added).isEmpty();
    }
}
