package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/**
 * Ctrl-C or SIGTERM during a copy: the shutdown hook the command registers reports how far the
 * copy got and that the destinations are incomplete, and stops the job. The tests run the hook's
 * work themselves, as the JVM would on a signal; the copy is throttled so that it is still running.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InterruptionTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();
    private final RecordedHooks hooks = new RecordedHooks();
    private Path src;

    @BeforeEach
    void slowSource() throws Exception {
        src = image(dir, "src.img", 32 << 20, 1);
        // 32 MiB at 1 MiB/s: the copy runs for half a minute unless interrupted.
        fixture.engine.throttle("default").setBytesPerSecond(1 << 20);
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private CopyCommand copy(String... args) {
        CopyCommand copy = new CopyCommand(fixture.console());
        copy.hooks = hooks;
        new CommandLine(copy).parseArgs(args);
        return copy;
    }

    private Path p(String name) {
        return dir.resolve(name);
    }

    @Test
    void aSignalDuringACopyReportsHowFarItGotAndStopsIt() throws Exception {
        CopyCommand copy = copy(src.toString(), p("a.img").toString(), p("b.img").toString());
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(copy::call);
        Thread hook = hooks.next();

        hook.run();

        assertThat(code.get(20, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(hooks.removed).containsExactly(hook);
        assertThat(fixture.err()).matches("kcopyd copy: interrupted after [0-9.]+ (B|KiB|MiB) of 32\\.0 MiB; "
                + "destinations incomplete: " + p("a.img") + ", " + p("b.img") + "\n");
        assertThat(fixture.out()).isEmpty();
        assertThat(Files.mismatch(src, p("a.img"))).as("a.img is incomplete").isNotEqualTo(-1);
    }

    @Test
    void withJsonTheInterruptionIsTheOneObjectOnStandardOutput() throws Exception {
        CopyCommand copy = copy("--json", src.toString(), p("a.img").toString());
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(copy::call);

        hooks.next().run();

        assertThat(code.get(20, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(fixture.out()).matches("\\{\"result\":\"interrupted\",\"message\":\"interrupted after [^\"]+ of "
                + "32\\.0 MiB; destination incomplete: [^\"]+a\\.img\",\"bytesDone\":[0-9]+,\"bytes\":33554432,"
                + "\"destinations\":\\[\\{\"path\":\"[^\"]+a\\.img\",\"sector\":0,\"error\":\"interrupted\","
                + "\"state\":\"incomplete\"}]}\n");
        assertThat(fixture.err()).isEmpty();
    }

    @Test
    void interruptingTheCommandsThreadAsTheShellDoesReportsTheSame() throws Exception {
        CopyCommand copy = copy(src.toString(), p("a.img").toString());
        CompletableFuture<Integer> code = new CompletableFuture<>();
        Thread thread = new Thread(() -> code.complete(copy.call()), "shell-session");
        thread.start();
        Thread hook = hooks.next();

        thread.interrupt();

        assertThat(code.get(20, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        thread.join(TimeUnit.SECONDS.toMillis(20));
        assertThat(hooks.removed).containsExactly(hook);
        assertThat(fixture.err()).startsWith("kcopyd copy: interrupted after ").endsWith(" of 32.0 MiB; destination "
                + "incomplete: " + p("a.img") + "\n");
    }

    @Test
    void aSignalAfterTheCopyReportedAddsNothing() throws Exception {
        fixture.engine.throttle("default").setBytesPerSecond(0);
        CopyCommand copy = copy(src.toString(), p("a.img").toString());

        assertThat(copy.call()).isZero();
        Thread hook = hooks.next();
        String reported = fixture.out() + fixture.err();
        hook.run();

        assertThat(fixture.out() + fixture.err()).isEqualTo(reported).startsWith("copied 32.0 MiB");
        assertThat(Files.mismatch(src, p("a.img"))).isEqualTo(-1);
    }
}
