package org.kcopyd.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The daemon's logging configuration for Pax Logging's Log4j 2 backend: everything logged through the
 * OSGi Log Service, SLF4J or java.util.logging (System.Logger) goes to {@code STATE/logs/kcopyd.log},
 * rolled over by Log4j 2's RollingFileAppender at 10 MiB, ten compressed files kept, all owner-only
 * ({@code filePermissions}); warnings and errors also go to standard error (a service manager's journal), one
 * line each: an exception's class and message, not its stack trace, which only the file has (a refused
 * configuration, which Declarative Services logs with the activation's whole stack, was 35 lines there).
 * The file is written into the run's private directory and named to Pax Logging by the framework property
 * {@value #PROPERTY}, which it reads at start.
 */
final class DaemonLogging {

    /** Pax Logging's framework property naming its configuration file. */
    static final String PROPERTY = "org.ops4j.pax.logging.property.file";

    /** Standard error's lines: an exception's class and message, and where its stack trace is. */
    private static final String STDERR_PATTERN = "kcopyd: %-5level %logger{1.} %msg%notEmpty{: %throwable{1}{separator(; )} "
            + "(its stack trace is in logs/kcopyd.log)}%n";

    private DaemonLogging() {
    }

    /**
     * Writes the configuration.
     *
     * @param logs the logs directory (made owner-only by {@link StateDirectory})
     * @param run  the run's private directory
     * @return the configuration file
     */
    static Path write(Path logs, Path run) throws IOException {
        String dir = xml(logs.toString());
        String config = """
                <?xml version="1.0" encoding="UTF-8"?>
                <Configuration status="warn" name="kcopyd-daemon">
                  <Appenders>
                    <RollingFile name="file" fileName="%1$s/kcopyd.log" filePattern="%1$s/kcopyd-%%i.log.gz"
                        filePermissions="rw-------">
                      <PatternLayout
                  pattern="%%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %%-5level [%%t] %%logger{1.} %%msg%%n%%throwable"/>
                      <Policies>
                        <SizeBasedTriggeringPolicy size="10 MB"/>
                      </Policies>
                      <DefaultRolloverStrategy max="10"/>
                    </RollingFile>
                    <Console name="stderr" target="SYSTEM_ERR">
                      <ThresholdFilter level="warn"/>
                      <PatternLayout alwaysWriteExceptions="false" pattern="%2$s"/>
                    </Console>
                  </Appenders>
                  <Loggers>
                    <Root level="info">
                      <AppenderRef ref="file"/>
                      <AppenderRef ref="stderr"/>
                    </Root>
                  </Loggers>
                </Configuration>
                """.formatted(dir, xml(STDERR_PATTERN));
        Path file = run.resolve("log4j2-daemon.xml");
        Files.writeString(file, config, StandardCharsets.UTF_8);
        return file;
    }

    private static String xml(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
                .replace("'", "&apos;");
    }
}
