package org.kcopyd.control.internal.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.kcopyd.control.ControlApi;

/** The {@link ControlApi} routes: the same answers as the token-checked servlet, without a token. */
class ApiRoutesTest {

    private static final String TOKEN = "0123456789abcdef".repeat(4);
    private final FakeControl control = new FakeControl();
    private final DaemonInfo daemon = new DaemonInfo("1.0.0.SNAPSHOT", null, 4242,
            Instant.parse("2026-11-27T07:40:00Z"));
    private final ControlApi routes = new ApiRoutes(() -> control, daemon);
    private final ApiHandler servlet = new ApiHandler(() -> control, new AccessCheck(TOKEN), daemon);

    private static ControlApi.Answer post(ControlApi api, String path, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return api.answer("POST", path, new ByteArrayInputStream(bytes), bytes.length);
    }

    @Test
    void answersWithoutATokenWhatTheServletAnswersWithOne() {
        ControlApi.Answer status = routes.answer("GET", "/status", null, -1);
        ApiResponse checked = servlet.handle(new ApiRequest("GET", "/status", "127.0.0.1:80", "Bearer " + TOKEN, 80,
                -1, new ByteArrayInputStream(new byte[0])));
        assertThat(status.status()).isEqualTo(200);
        assertThat(status.json()).isEqualTo(checked.json());
        JsonObject o = JsonParser.parseString(status.json()).getAsJsonObject();
        assertThat(o.get("stateDirectory").isJsonNull()).as("no daemon state directory in a plain framework").isTrue();
    }

    @Test
    void aChangeIsMadeAndErrorsAreTheApisErrors() {
        ControlApi.Answer started = post(routes, "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"/b\"]}");
        assertThat(started.status()).isEqualTo(202);
        assertThat(JsonParser.parseString(started.json()).getAsJsonObject().get("kind").getAsString()).isEqualTo("zero");

        ControlApi.Answer bad = post(routes, "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"/b\"], \"x\": 1}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(JsonParser.parseString(bad.json()).getAsJsonObject().getAsJsonObject("error").get("code")
                .getAsString()).isEqualTo("bad-request");

        ControlApi.Answer notAllowed = routes.answer("DELETE", "/status", null, -1);
        assertThat(notAllowed.status()).isEqualTo(405);
        assertThat(notAllowed.allow()).isEqualTo("GET");
        assertThat(routes.answer("GET", "/nothing", null, -1).status()).isEqualTo(404);
        // The Web Console's ?path= arrives decoded: its dot segments are refused as the servlet's are.
        ControlApi.Answer dots = routes.answer("GET", "/snapshots/../status", null, -1);
        assertThat(dots.status()).isEqualTo(400);
        assertThat(dots.json()).contains("bad-request", "'..'");
    }
}
