package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shell commands report a failure in one line on the session's error stream and return
 * normally: a thrown exception would be printed again by Gogo and logged with its stack trace as
 * an ERROR by Karaf.
 */
class KcopydShellCommandsTest {

    @TempDir
    Path dir;

    private final PrintStream originalOut = System.out;
    private final PrintStream originalErr = System.err;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final KcopydShellCommands commands = new KcopydShellCommands(new FakeRuntime());

    @BeforeEach
    void capture() {
        // Gogo and Karaf give each session its own System.out and System.err the same way.
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(originalOut);
        System.setErr(originalErr);
    }

    private String errLines() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aFailingCommandReturnsNormallyAfterOneLine() {
        Object result = commands.copy(dir.resolve("nothing.img").toString(), dir.resolve("new.img").toString());

        assertThat(result).isNull();
        assertThat(errLines().lines()).hasSize(1);
        assertThat(errLines()).startsWith("kcopyd copy: ").doesNotContain("\tat ").doesNotContain("Exception");
    }

    @Test
    void aUsageErrorReturnsNormallyWithTheUsageCode() {
        int code = commands.run("copy");

        assertThat(code).isEqualTo(Exit.USAGE);
        assertThat(errLines()).startsWith("kcopyd copy: ").doesNotContain("\tat ");
    }

    @Test
    void aMissingServiceIsOneLineToo() {
        Object result = commands.config();

        assertThat(result).isNull();
        assertThat(errLines()).isEqualTo("kcopyd config: no kcopyd client factory is available (waited 0 s)"
                + System.lineSeparator());
    }
}
