package org.kcopyd.control;

import java.util.List;

/**
 * A copy or zero job of whole devices ({@code POST /api/v1/jobs}). Devices are named as everywhere
 * in the API: absolute paths, device URIs, {@code snapshot:NAME}, {@code origin:NAME}, {@code mirror:NAME}.
 *
 * @param kind         {@code copy} or {@code zero}
 * @param source       the device copied (copy only; null for zero)
 * @param destinations the devices written, 1 to 64
 * @param sparse       {@code auto} (null means auto), {@code always} or {@code never} (copy only)
 */
public record JobRequest(String kind, String source, List<String> destinations, String sparse) {
}
