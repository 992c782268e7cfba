package org.kcopyd.control.internal.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.kcopyd.control.ExportRequest;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.control.SnapshotRequest;

class ApiHandlerTest {

    private static final String TOKEN = "0123456789abcdef".repeat(4);
    private static final int PORT = 41234;
    private final FakeControl control = new FakeControl();
    private final ApiHandler handler = new ApiHandler(() -> control, new AccessCheck(TOKEN),
            new DaemonInfo("1.0.0.SNAPSHOT", "/var/lib/kcopyd", 4242, Instant.parse("2026-11-27T07:40:00.123Z")));

    private ApiResponse send(String method, String path, String body) {
        return send(method, path, body, "127.0.0.1:" + PORT, "Bearer " + TOKEN);
    }

    private ApiResponse send(String method, String path, String body, String host, String authorization) {
        byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        return handler.handle(new ApiRequest(method, path, host, authorization, PORT, body == null ? -1 : bytes.length,
                new ByteArrayInputStream(bytes)));
    }

    private static JsonObject json(ApiResponse r) {
        return JsonParser.parseString(r.json()).getAsJsonObject();
    }

    private static void assertError(ApiResponse r, int status, String code, String... messageParts) {
        assertThat(r.status()).isEqualTo(status);
        JsonObject error = json(r).getAsJsonObject("error");
        assertThat(error.get("code").getAsString()).isEqualTo(code);
        if (messageParts.length > 0) {
            assertThat(error.get("message").getAsString()).contains(messageParts);
        }
        assertThat(json(r).keySet()).containsExactly("error");
    }

    @Test
    void aRequestWithoutTheTokenOrWithAnotherIsUnauthorized() {
        assertError(send("GET", "/status", null, "127.0.0.1:" + PORT, null), 401, "unauthorized", "no token");
        assertError(send("GET", "/status", null, "127.0.0.1:" + PORT, "Bearer " + "f".repeat(64)), 401,
                "unauthorized", "wrong token");
        assertError(send("GET", "/status", null, "127.0.0.1:" + PORT, "Basic " + TOKEN), 401, "unauthorized");
        assertError(send("GET", "/status", null, "127.0.0.1:" + PORT, "Bearer " + TOKEN.substring(1)), 401,
                "unauthorized");
        // An unknown path without the token does not tell that it is unknown.
        assertError(send("GET", "/nothing", null, "127.0.0.1:" + PORT, null), 401, "unauthorized");
        assertThat(send("GET", "/status", null, "127.0.0.1:" + PORT, "bearer " + TOKEN.toUpperCase()).status())
                .isEqualTo(200);
    }

    @Test
    void theHostMustBeLoopbackWithThePortTheRequestCameIn() {
        assertError(send("GET", "/status", null, "evil.example:" + PORT, "Bearer " + TOKEN), 421, "misdirected",
                "evil.example:" + PORT, "127.0.0.1:" + PORT);
        assertError(send("GET", "/status", null, "127.0.0.1:80", "Bearer " + TOKEN), 421, "misdirected");
        assertError(send("GET", "/status", null, "127.0.0.1", "Bearer " + TOKEN), 421, "misdirected");
        assertError(send("GET", "/status", null, null, "Bearer " + TOKEN), 421, "misdirected");
        assertThat(send("GET", "/status", null, "localhost:" + PORT, "Bearer " + TOKEN).status()).isEqualTo(200);
        assertThat(send("GET", "/status", null, "LOCALHOST:" + PORT, "Bearer " + TOKEN).status()).isEqualTo(200);
    }

    @Test
    void statusHasTheDocumentedFields() {
        ApiResponse r = send("GET", "/status", null);
        assertThat(r.status()).isEqualTo(200);
        JsonObject o = json(r);
        assertThat(o.get("version").getAsString()).isEqualTo("1.0.0.SNAPSHOT");
        assertThat(o.get("stateDirectory").getAsString()).isEqualTo("/var/lib/kcopyd");
        assertThat(o.get("pid").getAsLong()).isEqualTo(4242);
        assertThat(o.get("startedAt").getAsString()).isEqualTo("2026-11-27T07:40:00Z");
        assertThat(o.getAsJsonObject("engine").getAsJsonObject("configuration").get("defaultPages").getAsInt())
                .isEqualTo(2048);
        assertThat(o.getAsJsonObject("engine").get("refused").isJsonNull()).isTrue();
        assertThat(o.keySet()).contains("clients", "snapshots", "mirrors", "exports", "connections", "jobs");
    }

    @Test
    void statusListsTheClientsWithEveryCounterAndTheLiveCounts() {
        JsonObject o = json(send("GET", "/status", null));
        JsonObject client = o.getAsJsonArray("clients").get(0).getAsJsonObject();
        assertThat(client.keySet()).containsExactly("name", "pages", "pagesInUse", "jobsSubmitted", "jobsWaiting",
                "jobsInFlight", "jobsCompleted", "jobsFailed", "bytesRead", "bytesWritten");
        assertThat(client.get("name").getAsString()).isEqualTo("snapshot s1");
        assertThat(client.get("bytesWritten").getAsLong()).isEqualTo(4096);
        assertThat(o.get("connections").getAsInt()).isEqualTo(1);
        assertThat(o.get("jobs").getAsInt()).isZero();
        send("POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"/b\"]}");
        assertThat(json(send("GET", "/status", null)).get("jobs").getAsInt()).isEqualTo(1);
    }

    @Test
    void aJobIsStartedListedCancelledAndAMergeCannotBeCancelled() {
        ApiResponse started = send("POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"/a\", \"destinations\": "
                + "[\"/b\", \"snapshot:s1\"], \"sparse\": \"never\"}");
        assertThat(started.status()).isEqualTo(202);
        assertThat(control.requests).containsExactly(new org.kcopyd.control.JobRequest("copy", "/a",
                List.of("/b", "snapshot:s1"), "never"));
        JsonObject job = json(started);
        assertThat(job.keySet()).containsExactly("id", "kind", "description", "state", "bytesTotal", "bytesDone",
                "bytesPerSecond", "secondsLeft", "startedAt", "endedAt", "error", "result");
        assertThat(job.get("state").getAsString()).isEqualTo("running");
        assertThat(job.get("bytesPerSecond").isJsonNull()).isTrue();
        assertThat(job.get("startedAt").getAsString()).isEqualTo("1970-01-01T00:00:00Z");
        String id = job.get("id").getAsString();
        assertThat(json(send("GET", "/jobs", null)).getAsJsonArray("jobs")).hasSize(1);
        assertThat(json(send("GET", "/jobs/" + id, null)).get("kind").getAsString()).isEqualTo("copy");

        ApiResponse cancelled = send("POST", "/jobs/" + id + "/cancel", null);
        assertThat(cancelled.status()).isEqualTo(200);
        JsonObject result = json(cancelled).getAsJsonObject("result");
        assertThat(result.get("readError").isJsonNull()).isTrue();
        assertThat(result.getAsJsonArray("destinations").get(0).getAsJsonObject().get("complete").getAsBoolean())
                .isFalse();
        assertError(send("GET", "/jobs/99", null), 404, "not-found", "no job 99");
        assertError(send("GET", "/jobs/" + id + "/cancel", null), 405, "method-not-allowed", "allowed: POST");
        assertError(send("DELETE", "/jobs/" + id, null), 405, "method-not-allowed", "allowed: GET");
        assertError(send("POST", "/jobs", "{\"kind\": \"copy\", \"from\": \"/a\"}"), 400, "bad-request",
                "unknown field 'from'");
        assertError(send("POST", "/jobs", "{\"kind\": \"copy\", \"destinations\": \"/b\"}"), 400, "bad-request",
                "\"destinations\": \"/b\" is not an array of strings (allowed: 1 to 64 devices, each an absolute path");

        control.createSnapshot(new SnapshotRequest("s1", "/o", "/c", null, null, null, false, null));
        ApiResponse merge = send("POST", "/snapshots/s1/merge", null);
        assertThat(merge.status()).isEqualTo(202);
        assertThat(json(merge).get("kind").getAsString()).isEqualTo("merge");
        assertError(send("POST", "/jobs/" + json(merge).get("id").getAsString() + "/cancel", null), 409, "conflict",
                "cannot be cancelled");
        assertError(send("GET", "/snapshots/s1/merge", null), 405, "method-not-allowed");
        assertError(send("POST", "/snapshots/s9/merge", null), 404, "not-found", "s9");
    }

    @Test
    void unknownEndpointsAreNotFoundAndOtherMethodsNotAllowed() {
        assertError(send("GET", "/nothing", null), 404, "not-found", "no endpoint GET /api/v1/nothing");
        assertError(send("GET", "", null), 404, "not-found");
        assertError(send("GET", "/snapshots/s1/extra", null), 404, "not-found");
        assertError(send("GET", "/snapshots/", null), 404, "not-found");
        ApiResponse r = send("DELETE", "/status", null);
        assertError(r, 405, "method-not-allowed", "DELETE is not allowed on /api/v1/status; allowed: GET");
        assertThat(r.allow()).isEqualTo("GET");
        assertThat(send("PUT", "/snapshots", "{}").allow()).isEqualTo("GET, POST");
        assertThat(send("POST", "/snapshots/s1", "{}").allow()).isEqualTo("GET, DELETE");
        assertThat(send("POST", "/config", "{}").allow()).isEqualTo("GET, PUT");
    }

    @Test
    void aSnapshotRequestIsMappedFieldByField() {
        ApiResponse r = send("POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"/srv/vm.img\", \"cowStore\": "
                + "\"/srv/s1.cow\", \"chunkSectors\": 32, \"cowStoreSizeMiB\": 10, \"format\": true}");
        assertThat(r.status()).isEqualTo(201);
        assertThat(control.requests).containsExactly(new SnapshotRequest("s1", "/srv/vm.img", "/srv/s1.cow", 32, 10,
                null, true, null));
        JsonObject s = json(r);
        assertThat(s.get("name").getAsString()).isEqualTo("s1");
        assertThat(s.get("device").getAsString()).isEqualTo("snapshot:s1");
        assertThat(s.get("invalidReason").isJsonNull()).isTrue();
        assertThat(json(send("GET", "/snapshots", null)).getAsJsonArray("snapshots")).hasSize(1);
        assertThat(json(send("GET", "/snapshots/s1", null)).get("state").getAsString()).isEqualTo("active");
        assertThat(json(send("DELETE", "/snapshots/s1", null)).get("removed").getAsString()).isEqualTo("s1");
        assertError(send("GET", "/snapshots/s1", null), 404, "not-found", "no snapshot named s1");
    }

    @Test
    void anExportRequestIsMappedFieldByField() {
        ApiResponse r = send("POST", "/exports", "{\"name\": \"vm\", \"device\": \"origin:s1\", \"socket\": "
                + "\"/run/vm.sock\", \"readOnly\": true, \"maxConnections\": 4}");
        assertThat(r.status()).isEqualTo(201);
        assertThat(control.requests).containsExactly(new ExportRequest("vm", "origin:s1", "/run/vm.sock", null, true,
                4, null, false, false));
        assertThat(json(r).keySet()).contains("name", "device", "socket", "listen", "readOnly", "tls", "connections",
                "uri");
        assertThat(json(send("DELETE", "/exports/vm", null)).get("removed").getAsString()).isEqualTo("vm");
    }

    /**
     * H32: the container's decoded path turned {@code %2F} into a separator and resolved {@code ..},
     * so a DELETE of snapshot {@code ..%2Fexports%2Fvm} removed export vm. Each segment is decoded on
     * its own, and one that decodes to a slash or a dot segment is refused.
     */
    @Test
    void anEncodedSlashOrDotSegmentNeverReachesAnotherEndpoint() {
        assertThat(send("POST", "/exports", "{\"name\": \"vm\", \"device\": \"origin:s1\", \"socket\": "
                + "\"/run/vm.sock\"}").status()).isEqualTo(201);

        assertError(send("DELETE", "/snapshots/..%2Fexports%2Fvm", null), 400, "bad-request",
                "the path segment '..%2Fexports%2Fvm' is not allowed");
        assertError(send("DELETE", "/snapshots/..%2fexports%2fvm", null), 400, "bad-request");
        assertError(send("DELETE", "/snapshots/../exports/vm", null), 400, "bad-request", "'..'");
        assertError(send("GET", "/snapshots/%2e%2e", null), 400, "bad-request");
        assertError(send("GET", "/snapshots/a%5Cb", null), 400, "bad-request");
        assertError(send("GET", "/snapshots/a%00", null), 400, "bad-request");
        assertError(send("GET", "/snapshots/a%2", null), 400, "bad-request", "two hexadecimal digits");
        assertError(send("GET", "/snapshots/%C3", null), 400, "bad-request", "not UTF-8");
        assertError(send("GET", null, null), 400, "bad-request", "written plainly");
        assertThat(json(send("GET", "/exports/vm", null)).get("name").getAsString()).as("still there").isEqualTo("vm");

        // Encoded characters that are allowed are decoded: %76%6D is vm.
        assertThat(json(send("GET", "/%65xports/%76%6D", null)).get("name").getAsString()).isEqualTo("vm");
        // Without the token, nothing is told about the path.
        assertError(send("GET", "/snapshots/..%2Fstatus", null, "127.0.0.1:" + PORT, null), 401, "unauthorized");
    }

    @Test
    void aMirrorRequestIsMappedFieldByField() {
        ApiResponse r = send("POST", "/mirrors", "{\"name\": \"m1\", \"legs\": [\"/srv/a.img\", \"/srv/b.img\"], "
                + "\"regionLog\": \"/srv/m1.log\", \"regionSectors\": 2048, \"throttleBytesPerSecond\": 8192}");
        assertThat(r.status()).isEqualTo(201);
        assertThat(control.requests).containsExactly(new MirrorRequest("m1", List.of("/srv/a.img", "/srv/b.img"),
                "/srv/m1.log", 2048, 8192L, null, false));
        JsonObject m = json(r);
        assertThat(m.get("device").getAsString()).isEqualTo("mirror:m1");
        assertThat(m.getAsJsonArray("legs").get(1).getAsJsonObject().get("state").getAsString()).isEqualTo("resyncing");
        assertThat(json(send("GET", "/mirrors", null)).getAsJsonArray("mirrors")).hasSize(1);
        ApiResponse replaced = send("POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"/srv/c.img\"}");
        assertThat(replaced.status()).isEqualTo(200);
        assertThat(control.requests).last().isEqualTo(List.of("m1", 1, "/srv/c.img"));
        assertError(send("POST", "/mirrors/m1/replace-leg", "{\"with\": \"/srv/c.img\"}"), 400, "bad-request",
                "leg is missing");
        assertError(send("POST", "/mirrors/m1/replace-leg", "{\"leg\": \"1\", \"with\": \"/srv/c.img\"}"), 400,
                "bad-request", "\"leg\": \"1\" is not a whole number (allowed: the index of a leg other than leg 0");
        assertThat(send("GET", "/mirrors/m1/replace-leg", null).allow()).isEqualTo("POST");
        assertError(send("POST", "/mirrors", "{\"name\": \"m2\", \"legs\": \"/srv/a.img\"}"), 400, "bad-request",
                "\"legs\": \"/srv/a.img\" is not an array of strings (allowed: 2 to 16 legs, each an absolute path, a "
                + "device URI or service:NAME)");
        assertError(send("POST", "/mirrors", "{\"name\": \"m2\", \"legs\": [\"/a\", 2]}"), 400, "bad-request",
                "\"legs\": item 1, 2, is not a string (allowed: 2 to 16 legs");
        assertThat(json(send("DELETE", "/mirrors/m1", null)).get("removed").getAsString()).isEqualTo("m1");
    }

    @Test
    void badBodiesAreRefusedNamingTheField() {
        assertError(send("POST", "/snapshots", "{\"name\": \"s1\", \"chunksectors\": 8}"), 400, "bad-request",
                "unknown field 'chunksectors'");
        assertError(send("POST", "/snapshots", "{\"name\": 7}"), 400, "bad-request", "\"name\": 7 is not a string "
                + "(allowed: 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots)");
        // Found by H23: the last of two values was taken.
        assertError(send("POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"/a\"], \"destinations\": [\"/b\"]}"),
                400, "bad-request", "field destinations appears twice in one object");
        assertError(send("POST", "/mirrors", "{\"name\": \"m\", \"legs\": [{\"x\": 1, \"x\": 2}]}"), 400, "bad-request",
                "field x appears twice");
        assertError(send("POST", "/snapshots", "{\"name\": \"s\", \"chunkSectors\": 16.5}"), 400, "bad-request",
                "\"chunkSectors\": 16.5 is not a whole number (allowed: a power of two in 8..2048 (8, 16,");
        assertError(send("POST", "/snapshots", "{\"name\": \"s\", \"chunkSectors\": 99999999999}"), 400,
                "bad-request", "\"chunkSectors\": 99999999999 is out of range (allowed: a power of two in 8..2048 (8, 16,");
        assertError(send("POST", "/snapshots", "{\"name\": \"s\", \"format\": \"yes\"}"), 400, "bad-request",
                "\"format\": \"yes\" is not true or false (allowed: true or false, without quotes)");
        assertError(send("POST", "/snapshots", "{\"name\": [\"s\"]}"), 400, "bad-request",
                "\"name\": [\"s\"] is not a string");
        assertError(send("POST", "/snapshots", "[1, 2]"), 400, "bad-request",
                "the request body is an array ([1,2]), not a JSON object");
        assertError(send("POST", "/snapshots", "{\"name\": "), 400, "bad-request", "not valid JSON: found the end of "
                + "the body at line 1, column 10, where a value");
        assertError(send("POST", "/snapshots", ""), 400, "bad-request", "empty");
        assertThat(control.requests).isEmpty();
    }

    /**
     * H36: requests that take no body (a cancel, a merge, GET, DELETE) ignored one: garbage was answered 200
     * and the job cancelled. None, an empty one or {} is taken; anything else is refused and nothing is done.
     */
    @Test
    void aRequestThatTakesNoBodyRefusesOneAndDoesNothing() {
        String id = json(send("POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"/a\"]}")).get("id")
                .getAsString();
        assertError(send("POST", "/jobs/" + id + "/cancel", "not json at all {{{"), 400, "bad-request",
                "not valid JSON: found 'not' at line 1, column 1");
        assertError(send("POST", "/jobs/" + id + "/cancel", "{\"x\": 1}"), 400, "bad-request",
                "this request takes no body (send none, or {}); it has field 'x'");
        assertError(send("DELETE", "/snapshots/s1", "{\"force\": true}"), 400, "bad-request",
                "this request takes no body");
        assertThat(json(send("GET", "/jobs/" + id, null)).get("state").getAsString()).isEqualTo("running");
        assertThat(json(send("POST", "/jobs/" + id + "/cancel", "{}")).get("state").getAsString()).isEqualTo("cancelled");
        assertThat(send("POST", "/jobs/" + id + "/cancel", "").status()).isEqualTo(200);
    }

    /** Words of the JSON parser and of Java that no answer of the API may hold (the hostile review's finding). */
    private static final List<String> PARSER_WORDS = List.of("BEGIN_OBJECT", "Expected", "path $", "Gson", "gson",
            "Strictness", "LENIENT", "MalformedJson", "java.", "Exception", "(String)", "(BigDecimal)", "Long",
            "Integer", "JsonReader");

    private void assertRefusedInTheApisWords(String method, String path, String body, String message) {
        ApiResponse r = send(method, path, body);
        assertError(r, 400, "bad-request");
        String said = json(r).getAsJsonObject("error").get("message").getAsString();
        assertThat(said).as(body).isEqualTo(message);
        assertThat(PARSER_WORDS).as(said).noneMatch(said::contains);
    }

    /**
     * Hostile review: a body that is not JSON was answered in the parser's words (Gson's "Unterminated object
     * at line 1 column 14 path $.name" and its troubleshooting link, "Use JsonReader.setStrictness...") and
     * what a lenient parser takes was taken: single quotes, unquoted words, comments, ';' or '=' for
     * separators. Each is refused, saying where, what was found and what is allowed there; nothing is asked.
     */
    @Test
    void aBodyThatIsNotStrictJsonIsRefusedInTheApisWordsSayingWhere() {
        String invalid = "the request body is not valid JSON: ";
        String value = "a value (an object, an array, a string in double quotes, a number, true, false or null)";
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("\"s1\"", "the request body is a string (\"s1\"), not a JSON object: send {\"field\": value, ...}");
        cases.put("{'name': 's1'}", invalid + "found a single quote (') at line 1, column 2, where a field name in double "
                + "quotes, or '}' was expected");
        cases.put("{\"name\": s1}", invalid + "found 's1' at line 1, column 10, where " + value + " was expected: text is "
                + "written in double quotes");
        cases.put("{\"name\": \"s1\"; \"origin\": \"/o\"}", invalid + "found ';' at line 1, column 14, where ',' or '}' "
                + "was expected");
        cases.put("{\"name\" = \"s1\"}", invalid + "found '=' at line 1, column 9, where ':' after the field name was "
                + "expected");
        cases.put("/* c */ {\"name\": \"s1\"}", invalid + "found '/' at line 1, column 1, where " + value + " was "
                + "expected");
        cases.put("{\"name\": \"s1\"} // c", invalid + "found '/' at line 1, column 16, where the end of the body was "
                + "expected: it holds one JSON value, and nothing after it");
        cases.put("{\"name\": \"s1\",\n \"format\": True}", invalid + "found 'True' at line 2, column 12, where " + value
                + " was expected: text is written in double quotes");
        cases.put("{\"chunkSectors\": NaN}", invalid + "found 'NaN' at line 1, column 18, where " + value + " was "
                + "expected: text is written in double quotes");
        cases.put("{\"chunkSectors\": 0x10}", invalid + "found '0x10' at line 1, column 18, where a number in decimal "
                + "digits, such as 16, -1 or 2.5 was expected: JSON has no hexadecimal numbers, NaN or Infinity");
        cases.put("{\"chunkSectors\": 016}", invalid + "found '016' at line 1, column 18, where a number without leading "
                + "zeros was expected");
        cases.put("{\"chunkSectors\": +16}", invalid + "found '+16' at line 1, column 18, where " + value + " was "
                + "expected");
        cases.put("{\"name\": \"s1\",}", invalid + "found '}' at line 1, column 15, where a field name in double quotes "
                + "was expected: no comma goes before '}'");
        cases.put("{\"name\": \"s\\q1\"}", invalid + "found '\\q' at line 1, column 12 inside a string, where an escape "
                + "was expected: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and four hexadecimal digits");
        cases.put("{\"name\": \"s\n1\"}", invalid + "the string that starts at line 1, column 10 holds a control "
                + "character (U+000A) at line 1, column 12: write it as an escape such as \\n, \\t or \\u000a");
        cases.put("{\"name\": \"s1", invalid + "the string that starts at line 1, column 10 has no closing double quote");
        cases.put("{\"name\": \"s1\"} {\"name\": \"s2\"}", invalid + "found '{' at line 1, column 16, where the end of "
                + "the body was expected: it holds one JSON value, and nothing after it");
        cases.put("{\"a\": " + "[".repeat(64) + "]".repeat(64) + "}", invalid + "it is nested more than 64 objects or "
                + "arrays deep (at line 1, column 70)");
        cases.forEach((body, message) -> assertRefusedInTheApisWords("POST", "/snapshots", body, message));
        assertThat(control.requests).isEmpty();
    }

    /**
     * Hostile review: PUT /config took "64" for 64 (and "true" for true), and a value of the wrong type was
     * refused in Java's words ("defaultPages value 'abc' (String) is not a whole number"). A setting's value
     * must be of its JSON type; the refusal names the field, the value as sent and what it allows, and the
     * engine is not asked (nothing is changed).
     */
    @Test
    void aConfigValueOfTheWrongJsonTypeIsRefusedNamingFieldValueAndAllowedAndNothingChanges() {
        assertRefusedInTheApisWords("PUT", "/config", "{\"defaultPages\": \"64\"}",
                "\"defaultPages\": \"64\" is not a whole number (allowed: 1..262144)");
        assertRefusedInTheApisWords("PUT", "/config", "{\"defaultPages\": \"abc\"}",
                "\"defaultPages\": \"abc\" is not a whole number (allowed: 1..262144)");
        assertRefusedInTheApisWords("PUT", "/config", "{\"defaultPages\": 64.5}",
                "\"defaultPages\": 64.5 is not a whole number (allowed: 1..262144)");
        assertRefusedInTheApisWords("PUT", "/config", "{\"subJobKiB\": [512]}",
                "\"subJobKiB\": [512] is not a whole number (allowed: 4..16384, a multiple of 4)");
        assertRefusedInTheApisWords("PUT", "/config", "{\"throttleBytesPerSecond\": 1e30}",
                "\"throttleBytesPerSecond\": 1e30 is out of range (allowed: 0 or 4096..1000000000000)");
        // A number of 60000 characters would take seconds to examine: refused for its length, at once.
        assertRefusedInTheApisWords("PUT", "/config", "{\"defaultPages\": 1." + "0".repeat(60_000) + "}",
                "\"defaultPages\": 1." + "0".repeat(98) + "... (60002 characters) is a number of more than 64 "
                + "characters (allowed: 1..262144)");
        assertRefusedInTheApisWords("PUT", "/config", "{\"directIo\": \"true\"}",
                "\"directIo\": \"true\" is not true or false (allowed: true or false, without quotes)");
        assertRefusedInTheApisWords("PUT", "/config", "{\"directIo\": 1}",
                "\"directIo\": 1 is not true or false (allowed: true or false, without quotes)");
        // One bad value among good ones: none is applied.
        assertRefusedInTheApisWords("PUT", "/config", "{\"ioThreads\": 8, \"defaultPages\": \"64\"}",
                "\"defaultPages\": \"64\" is not a whole number (allowed: 1..262144)");
        assertThat(control.requests).as("the engine was not asked").isEmpty();
        assertThat(json(send("GET", "/config", null)).getAsJsonObject("configuration").get("defaultPages").getAsInt())
                .isEqualTo(2048);

        // A JSON number without a fraction is a whole number, however written.
        assertThat(send("PUT", "/config", "{\"defaultPages\": 1024.0, \"ioThreads\": 8}").status()).isEqualTo(200);
        assertThat(control.requests).containsExactly(Map.of("defaultPages", 1024L, "ioThreads", 8L));
    }

    /** Every request body takes each field's JSON type alone, as PUT /config does, refused in the same words. */
    @Test
    void everyBodyRefusesAFieldOfTheWrongJsonTypeNamingItsValueAndWhatItAllows() {
        assertRefusedInTheApisWords("POST", "/snapshots", "{\"name\": \"s1\", \"chunkSectors\": \"16\"}",
                "\"chunkSectors\": \"16\" is not a whole number (allowed: a power of two in 8..2048 (8, 16, 32, 64, 128, "
                + "256, 512, 1024 or 2048 sectors))");
        assertRefusedInTheApisWords("POST", "/snapshots", "{\"name\": \"s1\", \"cowStoreSizeMiB\": true}",
                "\"cowStoreSizeMiB\": true is not a whole number (allowed: 1 to 16777216 MiB)");
        assertRefusedInTheApisWords("POST", "/mirrors", "{\"name\": \"m1\", \"regionSectors\": \"1024\"}",
                "\"regionSectors\": \"1024\" is not a whole number (allowed: a power of two from 8 to 1048576 sectors)");
        assertRefusedInTheApisWords("POST", "/mirrors", "{\"name\": \"m1\", \"throttleBytesPerSecond\": \"8192\"}",
                "\"throttleBytesPerSecond\": \"8192\" is not a whole number (allowed: 0 (no cap) or at least 4096 bytes "
                + "per second)");
        assertRefusedInTheApisWords("POST", "/exports", "{\"name\": \"vm\", \"maxConnections\": \"5\"}",
                "\"maxConnections\": \"5\" is not a whole number (allowed: 1 to 100000)");
        assertRefusedInTheApisWords("POST", "/exports", "{\"name\": \"vm\", \"readOnly\": \"true\"}",
                "\"readOnly\": \"true\" is not true or false (allowed: true or false, without quotes)");
        assertRefusedInTheApisWords("POST", "/exports", "{\"name\": \"vm\", \"listen\": 10809}",
                "\"listen\": 10809 is not a string (allowed: HOST:PORT, such as 127.0.0.1:10809)");
        assertRefusedInTheApisWords("POST", "/jobs", "{\"kind\": \"copy\", \"source\": 5, \"destinations\": [\"/b\"]}",
                "\"source\": 5 is not a string (allowed: an absolute path, a device URI, snapshot:NAME, origin:NAME or "
                + "mirror:NAME)");
        assertRefusedInTheApisWords("POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"/a\", \"destinations\": "
                + "[\"/b\"], \"sparse\": false}", "\"sparse\": false is not a string (allowed: auto, always or never)");
        assertThat(control.requests).isEmpty();
    }

    @Test
    void aBodyOverTheLimitIsPayloadTooLargeNamingTheLimitAndNothingIsDone() {
        String big = "{\"name\": \"" + "x".repeat(JsonBody.LIMIT) + "\"}";
        assertError(send("POST", "/snapshots", big), 413, "too-large", "the request body (65548 bytes) is larger than "
                + "the limit of 65536 bytes; nothing was done");
        // Without a declared length, the body is read up to the limit and no further.
        byte[] bytes = big.getBytes(StandardCharsets.UTF_8);
        CountingStream in = new CountingStream(bytes);
        ApiResponse r = handler.handle(new ApiRequest("POST", "/snapshots", "127.0.0.1:" + PORT, "Bearer " + TOKEN,
                PORT, -1, in));
        assertError(r, 413, "too-large", "the request body (more than 65536 bytes) is larger than the limit of 65536 "
                + "bytes");
        assertThat(in.read).isEqualTo(JsonBody.LIMIT + 1);
        assertThat(control.requests).isEmpty();
    }

    @Test
    void invalidUtf8IsRefused() {
        byte[] bytes = {'{', '"', 'n', '"', ':', '"', (byte) 0xff, '"', '}'};
        ApiResponse r = handler.handle(new ApiRequest("POST", "/snapshots", "127.0.0.1:" + PORT, "Bearer " + TOKEN,
                PORT, bytes.length, new ByteArrayInputStream(bytes)));
        assertError(r, 400, "bad-request", "not UTF-8");
    }

    @Test
    void configIsReadAndChangedAndARefusalIsABadRequest() {
        JsonObject c = json(send("GET", "/config", null));
        assertThat(c.get("pid").getAsString()).isEqualTo("org.kcopyd.engine");
        ApiResponse ok = send("PUT", "/config", "{\"defaultPages\": 4096, \"directIo\": true}");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(control.requests).containsExactly(Map.of("defaultPages", 4096L, "directIo", true));
        assertThat(json(ok).getAsJsonObject("configuration").get("defaultPages").getAsLong()).isEqualTo(4096);
        assertError(send("PUT", "/config", "{\"defaultPages\": 100000}"), 400, "bad-request",
                "defaultPages 100000 is outside the allowed range 1..65536");
        assertError(send("PUT", "/config", "{\"defaultPages\": null}"), 400, "bad-request",
                "\"defaultPages\": null is not a whole number (allowed: 1..262144)");
    }

    @Test
    void noControlServiceIsUnavailable() {
        ApiHandler without = new ApiHandler(() -> null, new AccessCheck(TOKEN),
                new DaemonInfo("1", "/s", 1, Instant.EPOCH));
        ApiResponse r = without.handle(new ApiRequest("GET", "/snapshots", "127.0.0.1:1", "Bearer " + TOKEN, 1, -1,
                InputStream.nullInputStream()));
        assertError(r, 503, "unavailable", "KcopydControl");
    }

    @Test
    void anUnexpectedFailureIsFailedWithItsMessage() {
        ApiHandler failing = new ApiHandler(() -> {
            throw new IllegalStateException("disk on fire");
        }, new AccessCheck(TOKEN), new DaemonInfo("1", "/s", 1, Instant.EPOCH));
        ApiResponse r = failing.handle(new ApiRequest("GET", "/snapshots", "127.0.0.1:1", "Bearer " + TOKEN, 1, -1,
                InputStream.nullInputStream()));
        assertError(r, 500, "failed", "disk on fire");
    }

    /** Counts the bytes read from it. */
    private static final class CountingStream extends ByteArrayInputStream {
        int read;

        CountingStream(byte[] bytes) {
            super(bytes);
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            int n = super.read(b, off, len);
            if (n > 0) {
                read += n;
            }
            return n;
        }
    }
}
