package org.kcopyd.snapshot;

/** The state of a snapshot. */
public enum SnapshotState {
    /** Reads show the origin as it was when the snapshot was taken; writes go to the COW store. */
    ACTIVE,
    /**
     * Being merged back into the origin: the origin already shows the snapshot's content;
     * writes to the snapshot are refused.
     */
    MERGING,
    /**
     * Unusable (COW store full or failed, or found inconsistent when opened): every read and write
     * of the snapshot fails and it cannot be merged; the origin keeps working.
     */
    INVALID
}
