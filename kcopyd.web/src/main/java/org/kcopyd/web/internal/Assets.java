package org.kcopyd.web.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The dashboard's files, read once from the bundle's {@value #BUNDLE_FOLDER} folder: the stylesheet,
 * the script, and the page's body (an HTML fragment, the same in the daemon's page and the Web
 * Console's tab). Only the files named in {@link #SERVED} are ever served, so no request path reaches
 * the bundle's other resources. Immutable; thread-safe. At most a few tens of KiB.
 */
public final class Assets {

    /** The files' folder in the addresses: {@code /kcopyd/res/...} in the daemon and in the Web Console. */
    public static final String FOLDER = "res";
    /**
     * The files' folder in the bundle. Not {@value #FOLDER}: Felix Web Console 5 answers a GET of
     * {@code /LABEL/res/X} for a plain servlet plugin by itself with the plugin class's resource
     * {@code /res/X} (any file there, without a content type) and never asks the plugin; with the
     * files elsewhere it asks the plugin, which serves only {@link #SERVED} with their content types.
     */
    static final String BUNDLE_FOLDER = "dashboard";
    /** The files served under {@code res/} and their content types. */
    static final Map<String, String> SERVED = Map.of(
            "dashboard.css", "text/css; charset=utf-8",
            "dashboard.js", "text/javascript; charset=utf-8");
    /** The page's body, filled in by the daemon page and the Web Console plugin. */
    static final String BODY = "dashboard.html";

    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final String body;

    /**
     * @param loader the class loader that sees the bundle's {@value #BUNDLE_FOLDER} folder
     * @throws IllegalStateException naming a file the bundle lacks
     */
    public Assets(ClassLoader loader) {
        for (String name : SERVED.keySet()) {
            files.put(name, read(loader, name));
        }
        body = new String(read(loader, BODY), StandardCharsets.UTF_8);
    }

    private static byte[] read(ClassLoader loader, String name) {
        String path = BUNDLE_FOLDER + "/" + name;
        try (InputStream in = loader.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("the bundle lacks its file " + path);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundle's file " + path + ": " + e.getMessage(), e);
        }
    }

    /** @return the file {@code name} of {@link #SERVED} as a 200 reply with {@code headers}, or null if not served */
    Reply file(String name, Map<String, String> headers) {
        byte[] bytes = files.get(name);
        return bytes == null ? null : new Reply(200, SERVED.get(name), bytes, headers);
    }

    /**
     * @param mode   {@code daemon} or {@code console}: how the script reaches the API
     * @param apiUrl the API's address as the page's script uses it
     * @return the page's body with both filled in (HTML-escaped)
     */
    String body(String mode, String apiUrl) {
        return body.replace("${mode}", Html.escape(mode)).replace("${api}", Html.escape(apiUrl));
    }
}
