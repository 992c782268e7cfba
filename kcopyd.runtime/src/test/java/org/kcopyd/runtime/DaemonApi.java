package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * The control API of a {@link RunningDaemon}, called from the test's own JVM for set-up, checks and
 * clean-up (what a test asserts about the command line goes through the thin client as a separate
 * process instead): {@code STATE/control.json}'s URL with {@code STATE/control.token}'s bearer token.
 * {@link #held()} lists what the daemon holds and {@link #removeAll()} removes it (exports first,
 * then snapshots and mirrors), so that tests sharing one daemon start from nothing. Each request
 * waits at most a minute. Used by one test thread.
 */
final class DaemonApi {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI url;
    private final String token;

    /** Reads where the daemon of {@code state} listens and its token (the daemon must be up). */
    DaemonApi(Path state) {
        try {
            JsonObject control = JsonParser.parseString(Files.readString(state.resolve("control.json"),
                    StandardCharsets.UTF_8)).getAsJsonObject();
            url = URI.create(control.get("url").getAsString());
            token = Files.readString(state.resolve("control.token"), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Sends a request without a body and returns the answer's JSON.
     *
     * @param expected the status code the answer must have (the test fails naming the answer otherwise)
     */
    JsonObject call(String method, String path, int expected) {
        return send(HttpRequest.newBuilder(url.resolve(path)).method(method, HttpRequest.BodyPublishers.noBody()),
                method, path, expected);
    }

    /**
     * Sends a request with a JSON body (as {@code kcopyd copy --daemon} does) and returns the answer's JSON.
     *
     * @param expected the status code the answer must have (the test fails naming the answer otherwise)
     */
    JsonObject call(String method, String path, String json, int expected) {
        return send(HttpRequest.newBuilder(url.resolve(path)).header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)), method, path, expected);
    }

    private JsonObject send(HttpRequest.Builder builder, String method, String path, int expected) {
        HttpRequest request = builder.timeout(TIMEOUT).header("Authorization", "Bearer " + token).build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertThat(response.statusCode()).as("%s %s: %s", method, path, response.body()).isEqualTo(expected);
        return JsonParser.parseString(response.body()).getAsJsonObject();
    }

    /** GET {@code path}, expecting 200. */
    JsonObject get(String path) {
        return call("GET", path, 200);
    }

    /** @return what the daemon holds, as {@code export:NAME}, {@code snapshot:NAME} and {@code mirror:NAME} */
    List<String> held() {
        List<String> held = new ArrayList<>();
        for (String kind : List.of("export", "snapshot", "mirror")) {
            for (String name : names(kind)) {
                held.add(kind + ":" + name);
            }
        }
        return held;
    }

    /** Removes every export, snapshot and mirror the daemon holds (their files stay); fails if one is left. */
    void removeAll() {
        for (String kind : List.of("export", "snapshot", "mirror")) {
            for (String name : names(kind)) {
                call("DELETE", "/api/v1/" + kind + "s/" + name, 200);
            }
        }
        assertThat(held()).as("what the daemon still holds after removing everything").isEmpty();
    }

    private List<String> names(String kind) {
        List<String> names = new ArrayList<>();
        for (JsonElement e : get("/api/v1/" + kind + "s").getAsJsonArray(kind + "s")) {
            names.add(e.getAsJsonObject().get("name").getAsString());
        }
        return names;
    }
}
