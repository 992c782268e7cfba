package org.kcopyd.control.internal.service;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.kcopyd.control.ConfigurationOutcome;
import org.kcopyd.control.ControlException;
import org.osgi.framework.Constants;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * What Declarative Services did with one configuration (by its PID), read from the standard
 * {@link ServiceComponentRuntime} DTOs: the component it configures is active, failed to activate
 * (with the exception it threw, which DS keeps as text), or neither yet. The export components refuse
 * bad values by throwing {@link IllegalArgumentException} from their activation, which is how a refusal
 * is told from a failure; snapshot and mirror components stay active and say a refusal on their
 * not-open status instead (read with {@link Services#notOpen}). Stateless; thread-safe.
 *
 * <p>The one reading of these DTOs in kcopyd: the command line's {@code --config-dir} check gets it
 * through {@link org.kcopyd.control.KcopydControl#awaitConfiguration} ({@link Outcome#toApi()}).
 */
final class ComponentOutcomes {

    /** Where the component of one configuration is. */
    enum State { ACTIVE, FAILED, PENDING, ABSENT }

    /**
     * One configuration's outcome.
     *
     * @param state     active, failed, pending, or absent (no component has it)
     * @param reason    for a failure the exception's message, for a pending one what it waits for
     * @param exception for a failure, the exception's class name, else empty
     */
    record Outcome(State state, String reason, String exception) {
        /** @return whether the failure is a refusal of the configuration's values */
        boolean refused() {
            return exception.endsWith("IllegalArgumentException") || exception.endsWith("NumberFormatException");
        }

        /** @return whether the failure is a file or device held by something else */
        boolean inUse() {
            return exception.endsWith("FileClaimedException") || exception.endsWith("BindException");
        }

        /** @return this outcome as the exported API shows it: an absent component is pending too */
        ConfigurationOutcome toApi() {
            return switch (state) {
                case ACTIVE -> new ConfigurationOutcome(ConfigurationOutcome.State.ACTIVE, null, false);
                case FAILED -> new ConfigurationOutcome(ConfigurationOutcome.State.FAILED, reason, refused());
                case PENDING, ABSENT -> new ConfigurationOutcome(ConfigurationOutcome.State.PENDING, reason, false);
            };
        }
    }

    private ComponentOutcomes() {
    }

    /**
     * @param message   what was refused and why
     * @param exception the class name of the exception that refused it (empty: unknown)
     * @return the control API's error for it: BAD_REQUEST for a value refused ({@link Outcome#refused()}),
     *         CONFLICT for a file or address in use ({@link Outcome#inUse()}), FAILED otherwise
     */
    static ControlException refusal(String message, String exception) {
        Outcome o = new Outcome(State.FAILED, message, exception);
        if (o.refused()) {
            return ControlException.badRequest(message);
        }
        return o.inUse() ? ControlException.conflict(message) : ControlException.failed(message);
    }

    /** @return whether any component takes configurations of {@code pid} (a PID or factory PID) */
    static boolean consumed(ServiceComponentRuntime scr, String pid) {
        return scr.getComponentDescriptionDTOs().stream().anyMatch(d -> d.configurationPid != null
                && Arrays.asList(d.configurationPid).contains(pid));
    }

    /**
     * @param current the configuration's properties now (null: nothing to compare), which an active
     *                component must have been given: a component that rewrites its configuration while
     *                activating (a snapshot recording its new store's identity) is activated again with it
     * @return the outcome, now, of the configuration with that PID
     */
    static Outcome of(ServiceComponentRuntime scr, String pid, Dictionary<String, ?> current) {
        Outcome outcome = new Outcome(State.ABSENT, "no component has taken it yet", "");
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                if (!configuredBy(c, pid)) {
                    continue;
                }
                // An immediate component is SATISFIED on its way to ACTIVE or FAILED_ACTIVATION; a delayed one stays so.
                boolean started = c.state == ComponentConfigurationDTO.ACTIVE
                        || c.state == ComponentConfigurationDTO.SATISFIED && !c.description.immediate;
                if (started) {
                    if (hasLatest(c, current)) {
                        return new Outcome(State.ACTIVE, null, "");
                    }
                    outcome = new Outcome(State.PENDING, "component " + c.description.name
                            + " has not taken the latest configuration", "");
                } else if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION && hasLatest(c, current)) {
                    return new Outcome(State.FAILED, failureMessage(c.failure), exceptionClass(c.failure));
                } else if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                    // The failure of the configuration before a change DS has not handled yet (a failed mirror's
                    // replace-leg was answered with the refusal it came to mend).
                    outcome = new Outcome(State.PENDING, "component " + c.description.name
                            + " has not taken the latest configuration", "");
                } else {
                    outcome = new Outcome(State.PENDING, waitingFor(c), "");
                }
            }
        }
        return outcome;
    }

    /**
     * Polls until the configuration's component is active or has failed, or {@code wait} is over.
     * DS has no event for a state change, and the DTOs are cheap: a short poll answers at once in practice.
     *
     * @return the outcome: PENDING or ABSENT when the time is over or the thread is interrupted, its
     *         reason saying which
     */
    static Outcome await(ServiceComponentRuntime scr, String pid, Supplier<Dictionary<String, ?>> current,
            Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Outcome now = of(scr, pid, current.get());
            if (now.state() == State.ACTIVE || now.state() == State.FAILED) {
                return now;
            }
            if (System.nanoTime() - deadline >= 0) {
                return new Outcome(now.state(), "not active after " + wait.toSeconds() + " s: " + now.reason(), "");
            }
            if (Thread.currentThread().isInterrupted()) {
                return new Outcome(now.state(), "interrupted while it was " + now.reason(), "");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /**
     * Polls until no component holds the configuration of {@code pid} any more (it was deleted).
     *
     * @return true if it is gone within {@code wait}
     */
    static boolean awaitGone(ServiceComponentRuntime scr, String pid, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (of(scr, pid, null).state() != State.ABSENT) {
            if (System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        return true;
    }

    /** Every property of the configuration, Config Admin's own aside, has the same value in the component's. */
    private static boolean hasLatest(ComponentConfigurationDTO c, Dictionary<String, ?> current) {
        if (current == null) {
            return true;
        }
        for (String key : Collections.list(current.keys())) {
            if (!key.startsWith("service.") && !key.startsWith(":") && (c.properties == null
                    || !Objects.deepEquals(current.get(key), c.properties.get(key)))) {
                return false;
            }
        }
        return true;
    }

    private static boolean configuredBy(ComponentConfigurationDTO c, String pid) {
        Object pids = c.properties == null ? null : c.properties.get(Constants.SERVICE_PID);
        if (pids instanceof String s) {
            return s.equals(pid);
        }
        if (pids instanceof String[] a) {
            return Arrays.asList(a).contains(pid);
        }
        return pids instanceof Collection<?> list && list.contains(pid);
    }

    private static String waitingFor(ComponentConfigurationDTO c) {
        if (c.state == ComponentConfigurationDTO.UNSATISFIED_REFERENCE && c.unsatisfiedReferences != null
                && c.unsatisfiedReferences.length > 0) {
            return "component " + c.description.name + " is waiting for "
                    + Arrays.stream(c.unsatisfiedReferences).map(r -> interfaceOf(c.description, r.name))
                            .collect(Collectors.joining(", "));
        }
        return "component " + c.description.name + " is not satisfied";
    }

    private static String interfaceOf(ComponentDescriptionDTO d, String reference) {
        return d.references == null ? reference : Arrays.stream(d.references).filter(r -> r.name.equals(reference))
                .map(r -> r.interfaceName).findFirst().orElse(reference);
    }

    /** The exception's class name on the first line of DS's failure text (a stack trace), or empty. */
    static String exceptionClass(String failure) {
        String first = firstLine(failure);
        int colon = first.indexOf(':');
        String name = colon < 0 ? first : first.substring(0, colon);
        return name.matches("[\\w.$]+") ? name : "";
    }

    /** The exception's message: the first line of the trace without the class name. */
    static String failureMessage(String failure) {
        if (failure == null || failure.isBlank()) {
            return "the component failed to activate, without a reason";
        }
        String first = firstLine(failure);
        String name = exceptionClass(failure);
        if (name.isEmpty()) {
            return first;
        }
        String message = first.substring(name.length()).replaceFirst("^:", "").trim();
        return message.isEmpty() ? name.substring(name.lastIndexOf('.') + 1) : message;
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "";
        }
        int end = text.indexOf('\n');
        return (end < 0 ? text : text.substring(0, end)).strip();
    }
}
