package org.kcopyd.support.component;

import java.util.Hashtable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The not-open status of one configured snapshot or mirror: a {@code java.util.function.Supplier<String>}
 * service, registered while its component is active and the snapshot or mirror is not open, whose value says
 * why in one line, and whose properties say its name and whether it was refused (with the exception's
 * class) or is being created ({@link Keys}: the snapshot's or the mirror's constants). While attempts are
 * being made, the value adds them, read when it is read, so that it is never stale: the one under way, or
 * the last failed and how long until the next.
 *
 * <p>Threading: {@link #set} is called under the component's lock, which guards the registration; the
 * value is read by any thread.
 */
public final class NotOpenStatus {

    /**
     * The property names of a kind of status.
     *
     * @param name      the status's name property (its value: the snapshot's or mirror's name)
     * @param refused   set to true while it was refused and is not tried again by itself
     * @param exception with {@code refused}: the class of the exception that refused it
     * @param creating  set to true while a new one is being opened
     */
    public record Keys(String name, String refused, String exception, String creating) {
    }

    /**
     * Attempts to open, as the status says them: the retries (which extend it) write them, the status
     * reads them when it is read.
     */
    public static class Attempts {
        /** Whether an attempt is being made now. */
        public volatile boolean underWay;
        /** How many attempts failed so far. */
        public volatile int failures;
        /** When the next attempt is made ({@link System#nanoTime()}). */
        public volatile long nextAttemptNanos;
    }

    private final Keys keys;
    private final Supplier<? extends Attempts> attempts;
    /** What the status says, while registered; read by its service. */
    private volatile String reason;
    /** Whether {@link #reason} is the attempts' (they are then said after it). */
    private volatile boolean retried;
    /** Guarded by the caller's lock. */
    private ServiceRegistration<?> registration;
    /** The name {@link #registration} was registered with. Guarded by the caller's lock. */
    private String registeredName;
    /** The properties {@link #registration} carries. Guarded by the caller's lock. */
    private Hashtable<String, Object> registeredProperties;

    /**
     * @param keys     the property names
     * @param attempts gives the attempts being made now, or null if none (asked when the status is read)
     */
    public NotOpenStatus(Keys keys, Supplier<? extends Attempts> attempts) {
        this.keys = keys;
        this.attempts = attempts;
    }

    /**
     * Registers (or updates) the status, or, with a null {@code reason}, unregisters it (open, or
     * the component goes); nothing is registered while the component is not active or has no name.
     *
     * @param context   the component's bundle context
     * @param active    whether the component is active
     * @param name      the snapshot's or mirror's name, or null if not known
     * @param reason    why it is not open, or null
     * @param retried   whether {@code reason} is the attempts' (they are said after it)
     * @param refusedBy the class of the exception that refused it (not tried again by itself), or null
     * @param creating  whether a new one is being opened (said unless refused)
     */
    public void set(BundleContext context, boolean active, String name, String reason, boolean retried,
            String refusedBy, boolean creating) {
        this.reason = reason;
        this.retried = retried;
        if (registration != null && (reason == null || !active || !registeredName.equals(name))) {
            registration.unregister();
            registration = null;
        }
        if (reason == null || !active || name == null) {
            return;
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(keys.name(), name);
        if (refusedBy != null) {
            props.put(keys.refused(), Boolean.TRUE);
            props.put(keys.exception(), refusedBy);
        } else if (creating) {
            props.put(keys.creating(), Boolean.TRUE);
        }
        if (registration != null) {
            if (!props.equals(registeredProperties)) {
                registration.setProperties(props);
                registeredProperties = props;
            }
            return;
        }
        Supplier<String> why = this::describe;
        try {
            registration = context.registerService(Supplier.class, why, props);
            registeredName = name;
            registeredProperties = props;
        } catch (IllegalStateException stopping) {
            // The bundle is stopping: there is nobody left to tell.
        }
    }

    /** @return the reason set last, or null */
    public String reason() {
        return reason;
    }

    /** @return the status's value: the reason, and the attempts if it is theirs */
    public String describe() {
        String said = reason;
        Attempts a = attempts == null ? null : attempts.get();
        if (said == null || !retried || a == null) {
            return said;
        }
        int failures = a.failures;
        if (a.underWay || failures == 0) {
            return said + " (attempt " + (failures + 1) + " under way)";
        }
        long ms = Math.max(0, TimeUnit.NANOSECONDS.toMillis(a.nextAttemptNanos - System.nanoTime()));
        return said + " (attempt " + failures + " failed; next attempt in " + Delays.say(ms) + ")";
    }
}
