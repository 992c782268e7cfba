package org.kcopyd.impl.osgi;

import java.text.MessageFormat;
import java.util.MissingResourceException;
import java.util.ResourceBundle;

import org.osgi.service.log.Logger;

/**
 * The {@link System.Logger} the engine gets from the component: it writes to the OSGi Log
 * Service's {@link Logger} while the component has one bound (a dynamic, optional reference, so
 * that can change at any time), and to the JDK's {@code System.Logger} of the same name while it
 * has none. So the engine's own notices (a client's worker failing, a completion callback that
 * threw, jobs aborted at close) reach the Log Service like the component's, and the engine itself
 * needs no OSGi classes.
 *
 * <p>Nothing here loads the Log Service's classes until one is bound: the bundle's import of
 * them is optional.
 */
final class LogServiceLogger implements System.Logger {

    private final String name;
    private final System.Logger fallback;
    private volatile Logger bound;

    /** @param name the name of the fallback {@code System.Logger} */
    LogServiceLogger(String name) {
        this.name = name;
        this.fallback = System.getLogger(name);
    }

    /** @param logger the Log Service's logger for the component, which notices go to from now on */
    synchronized void bind(Logger logger) {
        bound = logger;
    }

    /** @param logger a logger that went away; one bound after it stays */
    synchronized void unbind(Logger logger) {
        if (bound == logger) {
            bound = null;
        }
    }

    @Override
    public String getName() {
        return name;
    }

    @Override
    public boolean isLoggable(Level level) {
        Logger log = bound;
        if (log == null) {
            return fallback.isLoggable(level);
        }
        return switch (level) {
            case ALL, TRACE -> log.isTraceEnabled();
            case DEBUG -> log.isDebugEnabled();
            case INFO -> log.isInfoEnabled();
            case WARNING -> log.isWarnEnabled();
            case ERROR -> log.isErrorEnabled();
            case OFF -> false;
        };
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {
        Logger log = bound;
        if (log == null) {
            fallback.log(level, bundle, message, thrown);
        } else {
            write(log, level, localized(bundle, message), thrown);
        }
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
        Logger log = bound;
        if (log == null) {
            fallback.log(level, bundle, format, params);
        } else {
            String pattern = localized(bundle, format);
            write(log, level, params == null || params.length == 0 ? pattern : MessageFormat.format(pattern, params),
                    null);
        }
    }

    private static String localized(ResourceBundle bundle, String key) {
        if (bundle == null || key == null) {
            return key;
        }
        try {
            return bundle.getString(key);
        } catch (MissingResourceException e) {
            return key;
        }
    }

    /** The text goes in as an argument of "{}", so that braces in it (a client's name) are not placeholders. */
    private static void write(Logger log, Level level, String text, Throwable thrown) {
        Object[] args = thrown == null ? new Object[] {text} : new Object[] {text, thrown};
        switch (level) {
            case ALL, TRACE -> log.trace("{}", args);
            case DEBUG -> log.debug("{}", args);
            case INFO -> log.info("{}", args);
            case WARNING -> log.warn("{}", args);
            case ERROR -> log.error("{}", args);
            default -> {
                // OFF: nothing is written.
            }
        }
    }
}
