package org.kcopyd.control;

/**
 * One snapshot as the API shows it ({@code SNAPSHOT} in CONTROL-API.md).
 *
 * @param name           its name
 * @param origin         the origin as configured (path or URI)
 * @param cowStore       the COW store's path
 * @param chunkSectors   chunk size in sectors
 * @param state          {@code active}, {@code merging}, {@code invalid}, {@code waiting} (configured, not
 *                       open: it may open by itself) or {@code failed} (configured and refused: it opens only
 *                       once its configuration changes or an opener service is bound again)
 * @param invalidReason  why it is invalid, waiting or failed, else null
 * @param chunksUsed     chunks held in the COW store (0 while waiting)
 * @param chunksCapacity chunks the COW store holds in all (0 while waiting)
 * @param cowStoreId     the COW store's identity (UUID), null until a store is made
 * @param device         {@code snapshot:NAME}
 * @param originDevice   {@code origin:NAME}
 */
public record SnapshotView(String name, String origin, String cowStore, int chunkSectors, String state,
        String invalidReason, long chunksUsed, long chunksCapacity, String cowStoreId, String device,
        String originDevice) {
}
