package org.kcopyd.control.internal.http;

import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import com.google.gson.JsonObject;

import org.kcopyd.control.ControlApi;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.ExportRequest;
import org.kcopyd.control.JobRequest;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.control.SnapshotRequest;
import org.kcopyd.control.internal.service.Allowed;
import org.kcopyd.control.internal.service.Text;

/**
 * The routes of CONTROL-API.md below {@code /api/v1}, for a caller that has already decided who may
 * ask: routes the path and method (404, 405), reads the body (at most {@link JsonBody#LIMIT} bytes),
 * calls {@link KcopydControl} and writes the answer or the error {@code {"error": {"code", "message"}}}.
 * The daemon's servlet reaches it through {@link ApiHandler} (Host and token checked first); the
 * {@link ControlApi} service (the Web Console plugin, behind the console's own authentication) calls
 * it directly: one source of JSON for both. Thread-safe: it keeps nothing between requests.
 */
public final class ApiRoutes implements ControlApi {

    private static final System.Logger LOG = System.getLogger(ApiRoutes.class.getName());
    private static final String PREFIX = "/api/v1";

    private final Supplier<KcopydControl> control;
    private final DaemonInfo daemon;

    /**
     * @param control the control service now, or null while there is none (then {@code unavailable})
     * @param daemon  what {@code /status} says of the process
     */
    public ApiRoutes(Supplier<KcopydControl> control, DaemonInfo daemon) {
        this.control = control;
        this.daemon = daemon;
    }

    @Override
    public Answer answer(String method, String path, InputStream body, long contentLength) {
        ApiResponse r;
        try {
            // Decoded as the daemon's servlet decodes it: the same dot segments and slashes refused.
            String decoded = RequestPath.decode(path == null ? "" : path);
            r = respond(new ApiRequest(method == null ? "" : method, decoded, null, null, -1, contentLength,
                    body == null ? InputStream.nullInputStream() : body));
        } catch (ApiError e) {
            r = error(e);
        }
        return new Answer(r.status(), r.json(), r.allow());
    }

    /** @return the answer to {@code request}, whose access has been checked; never throws */
    ApiResponse respond(ApiRequest request) {
        try {
            return route(request);
        } catch (ApiError e) {
            return error(e);
        } catch (ControlException e) {
            return new ApiResponse(e.code().status(), JsonViews.text(JsonViews.error(e.code().text(), e.getMessage())),
                    null);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "control API: " + request.method() + " " + PREFIX + request.path() + " failed", e);
            // The log has the exception; the answer has its message, never a Java type's name.
            String message = "the request failed unexpectedly" + (e.getMessage() == null ? "" : ": " + e.getMessage())
                    + "; the daemon's log has the details";
            return new ApiResponse(500, JsonViews.text(JsonViews.error("failed", message)), null);
        }
    }

    /** @return the answer for an {@link ApiError} */
    static ApiResponse error(ApiError e) {
        return new ApiResponse(e.status(), JsonViews.text(JsonViews.error(e.code(), e.getMessage())), e.allow());
    }

    private ApiResponse route(ApiRequest r) {
        String path = r.path() == null ? "" : r.path();
        List<String> parts = segments(path);
        String method = r.method().toUpperCase(Locale.ROOT);
        boolean takesBody = method.equals("PUT") || method.equals("POST") && (parts.size() == 1
                || parts.size() == 3 && parts.get(2).equals("replace-leg"));
        if (!takesBody) {
            JsonBody.requireNone(r.body(), r.contentLength());
        }
        if (parts.size() == 1 && parts.get(0).equals("status")) {
            allow(method, path, "GET");
            return ok(200, JsonViews.status(daemon, control().status()));
        }
        if (parts.size() == 1 && parts.get(0).equals("config")) {
            if (allow(method, path, "GET", "PUT").equals("GET")) {
                return ok(200, JsonViews.config(control().engineConfiguration()));
            }
            JsonBody body = JsonBody.read(r.body(), r.contentLength());
            return ok(200, JsonViews.config(control().updateEngineConfiguration(body.settings())));
        }
        if (parts.size() == 1 && parts.get(0).equals("snapshots")) {
            if (allow(method, path, "GET", "POST").equals("GET")) {
                return ok(200, JsonViews.list("snapshots", control().snapshots(), JsonViews::snapshot));
            }
            JsonBody b = JsonBody.read(r.body(), r.contentLength()).only("name", "origin", "cowStore", "chunkSectors",
                    "cowStoreSizeMiB", "cowStoreId", "format", "originId");
            SnapshotRequest request = new SnapshotRequest(b.string("name", Allowed.NAME), b.string("origin",
                    Allowed.ORIGIN), b.string("cowStore", Allowed.PATH), b.integer("chunkSectors", Allowed.CHUNK_SECTORS),
                    b.integer("cowStoreSizeMiB", Allowed.COW_STORE_SIZE_MIB), b.string("cowStoreId", Allowed.UUID),
                    b.bool("format"), b.string("originId", Allowed.ORIGIN_ID));
            return ok(201, JsonViews.snapshot(control().createSnapshot(request)));
        }
        if (parts.size() == 2 && parts.get(0).equals("snapshots")) {
            String name = parts.get(1);
            if (allow(method, path, "GET", "DELETE").equals("GET")) {
                return ok(200, JsonViews.snapshot(control().snapshot(name)));
            }
            control().removeSnapshot(name);
            return ok(200, JsonViews.removed(name));
        }
        if (parts.size() == 3 && parts.get(0).equals("snapshots") && parts.get(2).equals("merge")) {
            allow(method, path, "POST");
            return ok(202, JsonViews.job(control().mergeSnapshot(parts.get(1))));
        }
        if (parts.size() == 1 && parts.get(0).equals("jobs")) {
            if (allow(method, path, "GET", "POST").equals("GET")) {
                return ok(200, JsonViews.list("jobs", control().jobs(), JsonViews::job));
            }
            JsonBody b = JsonBody.read(r.body(), r.contentLength()).only("kind", "source", "destinations", "sparse");
            JobRequest request = new JobRequest(b.string("kind", Allowed.KIND), b.string("source", Allowed.DEVICE),
                    b.strings("destinations", Allowed.DESTINATIONS), b.string("sparse", Allowed.SPARSE));
            return ok(202, JsonViews.job(control().startJob(request)));
        }
        if (parts.size() == 2 && parts.get(0).equals("jobs")) {
            allow(method, path, "GET");
            return ok(200, JsonViews.job(control().job(parts.get(1))));
        }
        if (parts.size() == 3 && parts.get(0).equals("jobs") && parts.get(2).equals("cancel")) {
            allow(method, path, "POST");
            return ok(200, JsonViews.job(control().cancelJob(parts.get(1))));
        }
        if (parts.size() == 1 && parts.get(0).equals("mirrors")) {
            if (allow(method, path, "GET", "POST").equals("GET")) {
                return ok(200, JsonViews.list("mirrors", control().mirrors(), JsonViews::mirror));
            }
            JsonBody b = JsonBody.read(r.body(), r.contentLength()).only("name", "legs", "regionLog", "regionSectors",
                    "throttleBytesPerSecond", "regionLogId", "format");
            MirrorRequest request = new MirrorRequest(b.string("name", Allowed.NAME), b.strings("legs", Allowed.LEGS),
                    b.string("regionLog", Allowed.PATH), b.integer("regionSectors", Allowed.REGION_SECTORS),
                    b.whole("throttleBytesPerSecond", Allowed.THROTTLE_BYTES_PER_SECOND), b.string("regionLogId",
                    Allowed.UUID), b.bool("format"));
            return ok(201, JsonViews.mirror(control().createMirror(request)));
        }
        if (parts.size() == 2 && parts.get(0).equals("mirrors")) {
            String name = parts.get(1);
            if (allow(method, path, "GET", "DELETE").equals("GET")) {
                return ok(200, JsonViews.mirror(control().mirror(name)));
            }
            control().removeMirror(name);
            return ok(200, JsonViews.removed(name));
        }
        if (parts.size() == 3 && parts.get(0).equals("mirrors") && parts.get(2).equals("replace-leg")) {
            allow(method, path, "POST");
            JsonBody b = JsonBody.read(r.body(), r.contentLength()).only("leg", "with");
            Integer leg = b.integer("leg", Allowed.LEG_INDEX);
            if (leg == null) {
                throw ApiError.badRequest("leg is missing: the index of the leg to replace (allowed: " + Allowed.LEG_INDEX
                        + ")");
            }
            return ok(200, JsonViews.mirror(control().replaceLeg(parts.get(1), leg, b.string("with", Allowed.LEG))));
        }
        if (parts.size() == 1 && parts.get(0).equals("exports")) {
            if (allow(method, path, "GET", "POST").equals("GET")) {
                return ok(200, JsonViews.list("exports", control().exports(), JsonViews::export));
            }
            JsonBody b = JsonBody.read(r.body(), r.contentLength()).only("name", "device", "socket", "listen",
                    "readOnly", "maxConnections", "tlsCertificates", "tlsVerifyClients", "insecure");
            ExportRequest request = new ExportRequest(b.string("name", Allowed.NAME), b.string("device", Allowed.DEVICE),
                    b.string("socket", Allowed.PATH), b.string("listen", Allowed.LISTEN), b.bool("readOnly"),
                    b.integer("maxConnections", Allowed.MAX_CONNECTIONS), b.string("tlsCertificates", Allowed.PATH),
                    b.bool("tlsVerifyClients"), b.bool("insecure"));
            return ok(201, JsonViews.export(control().createExport(request)));
        }
        if (parts.size() == 2 && parts.get(0).equals("exports")) {
            String name = parts.get(1);
            if (allow(method, path, "GET", "DELETE").equals("GET")) {
                return ok(200, JsonViews.export(control().export(name)));
            }
            control().removeExport(name);
            return ok(200, JsonViews.removed(name));
        }
        throw new ApiError(404, "not-found", "no endpoint " + r.method() + " " + PREFIX + Text.printable(path)
                + "; see CONTROL-API.md", null);
    }

    /** @return {@code method} if allowed on the path; else 405 naming the allowed ones */
    private static String allow(String method, String path, String... allowed) {
        for (String a : allowed) {
            if (a.equals(method)) {
                return a;
            }
        }
        String list = String.join(", ", allowed);
        throw new ApiError(405, "method-not-allowed", method + " is not allowed on " + PREFIX + Text.printable(path)
                + "; allowed: " + list, list);
    }

    private KcopydControl control() {
        KcopydControl c = control.get();
        if (c == null) {
            throw ControlException.unavailable("the KcopydControl service is not running (Config Admin or Declarative "
                    + "Services missing?)");
        }
        return c;
    }

    private static ApiResponse ok(int status, JsonObject body) {
        return new ApiResponse(status, JsonViews.text(body), null);
    }

    /** The path's segments; an empty segment (a doubled or trailing slash) makes no route match. */
    private static List<String> segments(String path) {
        if (path.isEmpty() || path.equals("/")) {
            return List.of();
        }
        String p = path.startsWith("/") ? path.substring(1) : path;
        return List.of(p.split("/", -1));
    }
}
