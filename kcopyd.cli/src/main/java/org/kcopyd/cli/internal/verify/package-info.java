/**
 * Verification and hashing of copies: {@link org.kcopyd.cli.internal.verify.RegionVerifier}
 * reads destinations back and compares them with the source, chunk by chunk within a memory
 * budget; {@link org.kcopyd.cli.internal.verify.DigestingDevice} hashes a source in sector
 * order while the engine reads it out of order. Private to the bundle (not exported); its types
 * are public so that kcopyd-bench, a plain class-path program, times the very code the
 * {@code copy --verify} command runs.
 */
package org.kcopyd.cli.internal.verify;
