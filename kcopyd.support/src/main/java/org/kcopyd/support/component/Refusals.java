package org.kcopyd.support.component;

import java.io.IOException;

/** Logging of a snapshot's or mirror's refusal when it was tried again. Stateless; thread-safe. */
public final class Refusals {

    private Refusals() {
    }

    /**
     * @param properties a configuration's properties
     * @param key        its name property
     * @param valid      the name rule
     * @return the snapshot's or mirror's name it gives, null if none (not a text, or not a valid name)
     */
    public static String nameOf(java.util.Map<String, Object> properties, String key,
            java.util.function.Predicate<String> valid) {
        return properties.get(key) instanceof String name && valid.test(name) ? name : null;
    }

    /**
     * Logs a refusal as an error naming it, with the stack trace only for what is no refusal (a bug:
     * neither {@link IOException} nor {@link IllegalArgumentException}). The exception's message names the
     * snapshot or mirror first, as {@code what} says it already: once is enough.
     *
     * @param log  the component's logger
     * @param what what was refused and when, such as {@code snapshot 's1': not made}
     * @param e    the refusal
     */
    public static void log(System.Logger log, String what, Exception e) {
        String why = String.valueOf(e.getMessage());
        String named = what.substring(0, Math.max(0, what.indexOf("': ") + 3));
        String message = what + ": " + (!named.isEmpty() && why.startsWith(named) ? why.substring(named.length()) : why)
                + " (it is tried again when a BlockDeviceOpener service is bound or the configuration changes)";
        if (e instanceof IOException || e instanceof IllegalArgumentException) {
            log.log(System.Logger.Level.ERROR, message);
        } else {
            log.log(System.Logger.Level.ERROR, message, e);
        }
    }
}
