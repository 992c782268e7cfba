package org.kcopyd.nbd.internal.osgi;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * A TCP address to listen on, parsed from {@code HOST:PORT} or {@code [ADDRESS]:PORT}.
 *
 * @param host    the host as given (brackets removed)
 * @param port    1-65535
 * @param address the address it resolves to
 */
record ListenAddress(String host, int port, InetAddress address) {

    /**
     * @throws IllegalArgumentException naming the value and what is wrong with it
     */
    static ListenAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("listen address '" + text + "' is not HOST:PORT");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("listen address '" + text + "': write an IPv6 address in brackets, "
                + "[ADDRESS]:PORT");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("listen address '" + text + "': port '" + text.substring(colon + 1)
                + "' is not a number from 1 to 65535");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("listen address '" + text + "': port " + port
                + " is outside 1..65535");
        }
        try {
            return new ListenAddress(host, port, InetAddress.getByName(host));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("listen address '" + text + "': host '" + host
                + "' cannot be resolved");
        }
    }

    /** @return true if only this machine can connect */
    boolean loopback() {
        return address.isLoopbackAddress();
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
