package org.kcopyd.mirror;

/** The state of one leg of a mirror. */
public enum LegState {
    /** Holds the mirror's data; reads may come from it. */
    IN_SYNC,
    /** Being copied from the default leg; written to but not read from. */
    RESYNCING,
    /** Failed a read or write; neither read nor written until the mirror is reconfigured. */
    FAILED
}
