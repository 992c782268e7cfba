package org.kcopyd.control;

import java.util.Objects;

/**
 * What Declarative Services made of one Config Admin configuration, as
 * {@link KcopydControl#awaitConfiguration} reports it: the component it configures is active, failed
 * to activate, not yet either, or no component of the framework takes it at all. Read from the
 * standard {@code ServiceComponentRuntime} DTOs; immutable.
 *
 * @param state   where the configuration's component is
 * @param reason  null when {@link State#ACTIVE}; for {@link State#FAILED} the message of the exception
 *                its activation threw; for {@link State#PENDING} what it still waits for (after the
 *                wait, prefixed {@code not active after N s: }); for {@link State#UNUSED} which PID no
 *                component takes
 * @param refused for {@link State#FAILED}, whether the component refused the configuration's values (its
 *                activation threw {@link IllegalArgumentException}, as the snapshot, mirror and export
 *                components do for a bad value) rather than failed (a missing file, an I/O error);
 *                false in every other state
 * @since 1.1.0
 */
public record ConfigurationOutcome(State state, String reason, boolean refused) {

    /** Where the component of one configuration is. */
    public enum State {
        /** Its component is active (or satisfied, if delayed) with the configuration's latest values. */
        ACTIVE,
        /** Its component failed to activate. */
        FAILED,
        /** Its component is not active yet: it waits for a service, for Config Admin, or for its new values. */
        PENDING,
        /** No component takes configurations of its PID, nor of its factory PID (a misspelt name). */
        UNUSED
    }

    /**
     * @throws NullPointerException when {@code state} is null
     */
    public ConfigurationOutcome {
        Objects.requireNonNull(state, "state");
    }
}
