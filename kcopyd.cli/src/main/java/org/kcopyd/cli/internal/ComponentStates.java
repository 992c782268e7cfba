package org.kcopyd.cli.internal;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.osgi.framework.Constants;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * What Declarative Services did with one configuration (by its PID), read from the standard
 * {@code ServiceComponentRuntime} DTOs (DS 1.4): the component it configures is active, failed
 * to activate (with the exception it threw, which DS keeps in {@code failure}), or not yet either.
 * A snapshot or mirror component refuses bad values by throwing {@link IllegalArgumentException}
 * from its activation, which is how a refusal is told from a failure.
 */
final class ComponentStates {

    /** What DS reports about the component of one configuration. */
    record Components(List<ComponentDescriptionDTO> descriptions, List<ComponentConfigurationDTO> configurations) {
    }

    /** Where the component of one configuration is. */
    enum State { ACTIVE, FAILED, PENDING }

    /**
     * One configuration's outcome.
     *
     * @param state   active, failed, or pending (not yet active nor failed)
     * @param reason  for a failure, the exception's message; for a pending one, what it waits for
     * @param refused a failure caused by the configuration's values (exit code 2 rather than 1)
     */
    record Outcome(State state, String reason, boolean refused) {
        int exitCode() {
            return refused ? Exit.USAGE : Exit.FAILED;
        }
    }

    private ComponentStates() {
    }

    /** @return whether any component takes configurations of {@code pid} (a PID or factory PID) */
    static boolean consumed(Components components, String pid) {
        return components.descriptions().stream().anyMatch(d -> d.configurationPid != null
                && Arrays.asList(d.configurationPid).contains(pid));
    }

    /**
     * @param current the configuration's properties, read after {@code components} (null: none to
     *                compare), which an active component must have been given: a component that
     *                updates its own configuration while activating (a mirror recording its new
     *                log's identity) is activated again with it, and only that second activation
     *                tells whether it really started
     * @return the outcome, now, of the configuration with that PID
     */
    static Outcome of(Components components, String pid, Dictionary<String, ?> current) {
        Outcome pending = new Outcome(State.PENDING, "no component has taken it yet", false);
        for (ComponentConfigurationDTO c : components.configurations()) {
            if (!configuredBy(c, pid)) {
                continue;
            }
            // An immediate component is SATISFIED on its way to ACTIVE or FAILED_ACTIVATION; a delayed one stays so.
            boolean started = c.state == ComponentConfigurationDTO.ACTIVE
                    || c.state == ComponentConfigurationDTO.SATISFIED && !c.description.immediate;
            switch (started ? ComponentConfigurationDTO.ACTIVE : c.state) {
                case ComponentConfigurationDTO.ACTIVE -> {
                    if (hasLatest(c, current)) {
                        return new Outcome(State.ACTIVE, null, false);
                    }
                    pending = new Outcome(State.PENDING, "component " + c.description.name
                            + " has not taken the latest configuration", false);
                }
                case ComponentConfigurationDTO.FAILED_ACTIVATION -> {
                    return new Outcome(State.FAILED, failureMessage(c.failure), isRefusal(c.failure));
                }
                default -> pending = new Outcome(State.PENDING, waitingFor(c), false);
            }
        }
        return pending;
    }

    /**
     * Polls until the configuration's component is active or has failed, or {@code wait} is over.
     * DS has no event for a state change (its {@code service.changecount} is updated late), and
     * the DTOs are cheap: a short poll answers at once in practice.
     */
    static Outcome await(Supplier<Components> components, String pid, Supplier<Dictionary<String, ?>> current,
            Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            // The configuration after the components: a component rewrites it while activating, before DS shows it
            // active, so an active component whose properties differ from it is still to be activated again.
            Components seen = components.get();
            Outcome now = of(seen, pid, current.get());
            if (now.state() != State.PENDING) {
                return now;
            }
            if (System.nanoTime() - deadline >= 0) {
                return new Outcome(State.PENDING, "not active after " + wait.toSeconds() + " s: " + now.reason(),
                        false);
            }
            if (Thread.currentThread().isInterrupted()) {
                return new Outcome(State.PENDING, "interrupted while it was " + now.reason(), false);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /**
     * Every property of the configuration has the same value in the component's, Config Admin's
     * own aside ({@code service.*}, and Felix's {@code :org.apache.felix.configadmin.revision:}).
     */
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

    /** The exception's class name on the first line of DS's failure text (a stack trace). */
    private static String exceptionClass(String failure) {
        String first = firstLine(failure);
        int colon = first.indexOf(':');
        String name = colon < 0 ? first : first.substring(0, colon);
        return name.matches("[\\w.$]+") ? name : "";
    }

    static boolean isRefusal(String failure) {
        String name = exceptionClass(failure);
        return name.endsWith("IllegalArgumentException") || name.endsWith("NumberFormatException");
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
