package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** The protocol's strings: UTF-8, no NUL, at most {@value Nbd#MAX_STRING} bytes. */
public final class Strings {

    private Strings() {
    }

    /** @return the UTF-8 bytes of a protocol string, refused when too long or holding NUL */
    public static byte[] encode(String what, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > Nbd.MAX_STRING) {
            throw new IllegalArgumentException(what + " of " + bytes.length + " bytes is longer than the protocol's limit "
                + Nbd.MAX_STRING + " bytes");
        }
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " '" + value.replace('\0', '?') + "' contains NUL");
        }
        return bytes;
    }

    /**
     * Reads {@code length} bytes as a protocol string.
     *
     * @throws ProtocolException if fewer bytes remain, the string is too long, not UTF-8 or holds NUL
     */
    public static String decode(String what, ByteBuffer in, long length) throws ProtocolException {
        if (length > Nbd.MAX_STRING) {
            throw new ProtocolException(what + " of " + length + " bytes is longer than the protocol's limit "
                + Nbd.MAX_STRING + " bytes");
        }
        if (length > in.remaining()) {
            throw new ProtocolException(what + " of " + length + " bytes overruns its message (" + in.remaining()
                + " bytes left)");
        }
        ByteBuffer slice = in.slice(in.position(), (int) length);
        in.position(in.position() + (int) length);
        String value;
        try {
            value = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException(what + " is not valid UTF-8");
        }
        if (value.indexOf('\0') >= 0) {
            throw new ProtocolException(what + " contains NUL");
        }
        return value;
    }

    /** Decodes a message the peer sent for display: invalid bytes are replaced, never refused. */
    public static String lenient(ByteBuffer in, int length) {
        int n = Math.min(length, in.remaining());
        byte[] bytes = new byte[n];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8).replace('\0', '?');
    }
}
