package org.kcopyd.control.internal.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.regex.Pattern;

import org.kcopyd.control.internal.service.Text;

/**
 * Who may use the API: a request whose {@code Host} is {@code 127.0.0.1:PORT} or
 * {@code localhost:PORT} (PORT the one it came in on: no DNS rebinding), carrying
 * {@code Authorization: Bearer TOKEN} with the daemon's token, compared in constant time.
 * Immutable; thread-safe.
 */
public final class AccessCheck {

    /** The token: 64 hexadecimal characters (256 bits). */
    public static final Pattern TOKEN = Pattern.compile("[0-9a-fA-F]{64}");
    private static final String BEARER = "bearer ";

    private final byte[] token;

    /**
     * @param token the daemon's token, 64 hexadecimal characters
     * @throws IllegalArgumentException if it is not
     */
    public AccessCheck(String token) {
        if (token == null || !TOKEN.matcher(token).matches()) {
            throw new IllegalArgumentException("the control token is not 64 hexadecimal characters");
        }
        this.token = token.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
    }

    /** @throws ApiError 421 unless {@code host} names the loopback address and {@code port} */
    void checkHost(String host, int port) {
        if (host == null || !(host.equals("127.0.0.1:" + port) || host.equalsIgnoreCase("localhost:" + port))) {
            throw new ApiError(421, "misdirected", "Host header '" + (host == null ? "" : Text.printable(host))
                    + "' is not 127.0.0.1:" + port + " or localhost:" + port, null);
        }
    }

    /** @throws ApiError 401 unless {@code authorization} is {@code Bearer} and the token */
    void checkToken(String authorization) {
        if (authorization == null || authorization.length() < BEARER.length()
                || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            throw new ApiError(401, "unauthorized", "no token: send Authorization: Bearer followed by the token of "
                    + "the state directory's control.token", null);
        }
        byte[] presented = authorization.substring(BEARER.length()).trim().toLowerCase(Locale.ROOT)
                .getBytes(StandardCharsets.US_ASCII);
        // MessageDigest.isEqual takes the same time for every presented token of the token's length.
        if (!MessageDigest.isEqual(presented, token)) {
            throw new ApiError(401, "unauthorized", "wrong token: it is not the one in the state directory's "
                    + "control.token (the daemon makes a new one at every start)", null);
        }
    }
}
