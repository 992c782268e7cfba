package org.kcopyd.testdevices;

import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The records a class's {@code java.util.logging} logger publishes (where {@code System.Logger}
 * writes outside a framework), every level, from {@link #of} until {@link #close}, which restores
 * the logger's level. Thread-safe: components log from their own threads.
 */
public final class LogCapture implements AutoCloseable {

    /** Held: a logger only weakly referenced elsewhere may be collected with its handler and level. */
    private final Logger logger;
    private final Level levelBefore;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    private LogCapture(Class<?> source) {
        logger = Logger.getLogger(source.getName());
        levelBefore = logger.getLevel();
        logger.addHandler(handler);
        logger.setLevel(Level.ALL);
    }

    /** @return a capture of what {@code source}'s logger publishes from now on */
    public static LogCapture of(Class<?> source) {
        return new LogCapture(source);
    }

    /** @return the records published so far, in order (a live, read-only view) */
    public List<LogRecord> records() {
        return Collections.unmodifiableList(records);
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
        logger.setLevel(levelBefore);
    }
}
