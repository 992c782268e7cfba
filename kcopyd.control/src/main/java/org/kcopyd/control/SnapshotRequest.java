package org.kcopyd.control;

/**
 * What {@link KcopydControl#createSnapshot} is asked to make: the values of {@code POST /snapshots}.
 *
 * @param name            1 to 64 of {@code A-Z a-z 0-9 . _ -}, not only dots
 * @param origin          an absolute path of a file or block device, or a device URI ({@code SCHEME://...};
 *                        a {@code file:} URI is its file)
 * @param cowStore        the COW store's absolute path
 * @param chunkSectors    chunk size in 512-byte sectors, a power of two in 8..2048; null for 16
 * @param cowStoreSizeMiB size of a new COW store in MiB, 1..16777216; null for 1024
 * @param cowStoreId      the identity (UUID) of an existing COW store to reopen, or null
 * @param format          true: make a new store over an existing file that holds no kcopyd COW store
 * @param originId        the origin's identity, confirming a moved origin (as a refusal printed it), or null
 */
public record SnapshotRequest(String name, String origin, String cowStore, Integer chunkSectors,
        Integer cowStoreSizeMiB, String cowStoreId, boolean format, String originId) {
}
