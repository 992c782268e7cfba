package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.kcopyd.api.CopyResult;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.device.FileErrors;

/**
 * Runs one copy or zero job as the commands do: the engine writes the whole sectors, then the
 * command writes each destination's tail of less than a sector itself (a regular file's size need
 * not be whole sectors, block devices address only whole ones), and flushes it when asked.
 *
 * <p>While it runs, a JVM shutdown hook is registered: on Ctrl-C or SIGTERM it reports how far
 * the job got and that the destinations are incomplete, closes the files (so the job's remaining
 * I/O fails at once instead of running on under a stopping framework) and waits briefly for the
 * command to finish. Interrupting the command's thread (Ctrl-C in the Gogo shell) does the same.
 * Exactly one of the interruption and the command reports.
 */
final class JobRun implements AutoCloseable {

    /** How long the shutdown hook waits for the command to finish after closing its files. */
    static final Duration GRACE = Duration.ofSeconds(2);

    /** Submits the engine's job. */
    interface Submit {
        CompletionStage<CopyResult> submit(KcopydClient client);
    }

    /** The tail every destination gets (all destinations' regions are equally long). */
    interface Tail {
        ByteBuffer read() throws IOException;
    }

    /** A copy or zero command's work: checks everything, then runs its job; returns the exit code. */
    interface Work {
        int run(JobRun job);
    }

    private final Console console;
    private final Report report;
    private final ShutdownHooks hooks;
    private final Thread hook = new Thread(this::onShutdown, "kcopyd-interrupted");
    private final AtomicBoolean reported = new AtomicBoolean();
    private final CountDownLatch over = new CountDownLatch(1);
    private volatile boolean interrupted;
    private volatile Outcome verifying;
    private volatile boolean threadInterrupted;
    private volatile KcopydClient client;
    private volatile OpenFiles files;
    private volatile List<Target> targets;
    private volatile Progress progress;

    JobRun(Console console, Report report, ShutdownHooks hooks) {
        this.console = console;
        this.report = report;
        this.hooks = hooks;
    }

    /**
     * @return {@code outcome} with every complete file destination that was removed, or replaced by
     *         another file, while it was written failed: what kcopyd wrote is not at its name, and a
     *         success would tell the user a copy (or zeros) is there
     */
    static Outcome stillNamed(Outcome outcome, List<Target> targets, OpenFiles files) {
        Outcome checked = outcome;
        for (int i = 0; i < targets.size(); i++) {
            Operand o = targets.get(i).operand();
            if (o.isRemote() || outcome.state(i) != Outcome.State.COMPLETE) {
                continue;
            }
            String gone = files.notTheFileWritten(o, "wrote");
            if (gone != null) {
                checked = checked.losing(i, gone + "; what was written is not at that name");
            }
        }
        return checked;
    }

    /**
     * Runs a copy or zero command with a job run of its own and reports every refusal of it.
     *
     * @param destinations the destination arguments (null for none), reported untouched on a refusal
     * @return the exit code
     */
    static int command(Console console, Report report, ShutdownHooks hooks, List<String> destinations,
            Work work) {
        List<String> named = destinations != null ? destinations : List.of();
        try (JobRun job = new JobRun(console, report, hooks)) {
            return work.run(job);
        } catch (CommandException e) {
            return report.refused(e, named);
        } catch (IllegalArgumentException e) {
            // A request the API refused that the command's checks did not name first; nothing was written.
            return report.refused(CommandException.usage(e.getMessage()), named);
        } catch (RuntimeException e) {
            // A service missing or gone (IllegalStateException), or a failure nothing above names.
            return report.refused(CommandException.failed(FileErrors.reason(e)), named);
        }
    }

    /**
     * Runs the job and writes the tails.
     *
     * @param source       the source's name for messages, or null for a zero job
     * @param submit       submits the engine's job, or null when the regions are shorter than a sector
     * @param tail         the tail's bytes
     * @param flush        force the tails to stable storage (the engine flushes the sectors)
     * @param ignoreErrors go on after errors
     * @return the outcome to report, or null if an interruption has reported already
     * @throws CommandException if the engine refuses the job; the files this command created are removed
     */
    Outcome run(KcopydClient client, OpenFiles files, String source, List<Target> targets, Submit submit, Tail tail,
            boolean flush, boolean ignoreErrors) {
        this.client = client;
        this.files = files;
        this.targets = targets;
        int n = targets.size();
        hooks.add(hook);
        try {
            CopyResult result = null;
            if (submit != null) {
                CompletableFuture<CopyResult> job = submitOrRemove(submit).toCompletableFuture();
                if (console.terminal() && !report.json()) {
                    progress = new Progress(console.out(), targets.get(0).length() * n,
                            () -> client.statistics().bytesWritten());
                }
                result = await(job);
                closeProgress();
            }
            if (interrupted) {
                return null;
            }
            Throwable readFailure = result == null ? null : result.readFailure().orElse(null);
            Throwable[] writeFailures = new Throwable[n];
            for (int i = 0; i < n && result != null; i++) {
                writeFailures[i] = result.writeFailure(i).orElse(null);
            }
            boolean stopped = result != null && !result.isSuccess() && !ignoreErrors;
            int tailBytes = targets.get(0).tail();
            if (!stopped && tailBytes > 0) {
                ByteBuffer data;
                try {
                    data = tail.read();
                } catch (IOException e) {
                    readFailure = e;
                    data = ignoreErrors ? ByteBuffer.allocate(tailBytes) : null;
                }
                for (int i = 0; i < n && data != null; i++) {
                    if (writeFailures[i] == null) {
                        writeFailures[i] = writeTail(targets.get(i), data.duplicate(), flush);
                    }
                }
            }
            if (interrupted || !reported.compareAndSet(false, true)) {
                return null;
            }
            return new Outcome(source, targets, readFailure, writeFailures, ignoreErrors);
        } finally {
            closeProgress();
            hooks.remove(hook);
        }
    }

    /**
     * Runs {@code copy --verify}'s read-back after {@link #run} has returned its outcome, guarded
     * like the job: an interruption while it runs reports that the copy completed but was not
     * verified, and closes the files, which ends the read-back at its next read.
     *
     * @param outcome what the copy did, reported with the interruption
     * @param check   the read-back
     * @return its result, or null if an interruption has reported instead
     */
    <T> T verify(Outcome outcome, java.util.function.Supplier<T> check) {
        verifying = outcome;
        reported.set(false);
        hooks.add(hook);
        try {
            T result = check.get();
            if (Thread.interrupted()) {
                // Ctrl-C in the shell interrupts the command's thread: the read-back stopped early.
                threadInterrupted = true;
                fire();
            }
            if (interrupted || !reported.compareAndSet(false, true)) {
                return null;
            }
            return result;
        } finally {
            hooks.remove(hook);
        }
    }

    private CompletionStage<CopyResult> submitOrRemove(Submit submit) {
        try {
            return submit.submit(client);
        } catch (IllegalArgumentException e) {
            files.removeCreated();
            throw CommandException.usage(e.getMessage());
        } catch (IllegalStateException | RejectedExecutionException e) {
            files.removeCreated();
            throw CommandException.failed("the engine did not take the job: " + e.getMessage());
        }
    }

    private Throwable writeTail(Target t, ByteBuffer data, boolean flush) {
        try {
            files.writeTail(t.operand(), t.tailByte(), data, flush);
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    private CopyResult await(CompletableFuture<CopyResult> job) {
        while (true) {
            try {
                return threadInterrupted ? job.get(GRACE.toMillis(), TimeUnit.MILLISECONDS) : job.get();
            } catch (InterruptedException e) {
                threadInterrupted = true;
                fire();
            } catch (TimeoutException e) {
                // Its files are closed: the job ends at its next I/O; the interruption has reported.
                return null;
            } catch (ExecutionException e) {
                throw CommandException.failed("the job failed: " + FileErrors.reason(e.getCause()));
            }
        }
    }

    /**
     * The interruption: reports how far the job got (unless the command has reported already)
     * and closes the files, so the job stops at its next I/O.
     */
    void fire() {
        interrupted = true;
        Outcome copied = verifying;
        if (copied != null && reported.compareAndSet(false, true)) {
            report.verifyInterrupted(copied, targets);
        } else if (reported.compareAndSet(false, true)) {
            closeProgress();
            List<Target> t = targets;
            long total = t.get(0).length();
            long done = Math.min(total, client.statistics().bytesWritten() / t.size());
            report.interrupted(done, total, t);
        }
        files.cancel();
    }

    /** The shutdown hook's work: {@link #fire()}, then wait briefly for the command to finish. */
    private void onShutdown() {
        fire();
        try {
            over.await(GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** @return the shutdown hook registered while a job runs (tests run it themselves) */
    Thread hook() {
        return hook;
    }

    private void closeProgress() {
        Progress p = progress;
        if (p != null) {
            p.close();
        }
    }

    /** The command is over (its files are closed): a waiting shutdown hook may return. */
    @Override
    public void close() {
        over.countDown();
        if (threadInterrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
