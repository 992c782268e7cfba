package org.kcopyd.web.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.kcopyd.control.ControlApi;

/** The daemon's page and the Web Console tab: what they serve, with which headers, and what they refuse. */
class DashboardPagesTest {

    private final Assets assets = new Assets(getClass().getClassLoader());
    private final DaemonPage daemon = new DaemonPage(assets);
    private final List<String> calls = new ArrayList<>();
    private final ControlApi api = (method, path, body, length) -> {
        try {
            calls.add(method + " " + path + " " + new String(body.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return method.equals("GET") && path.equals("/status") ? new ControlApi.Answer(200, "{\"pid\": 1}", null)
                : new ControlApi.Answer(405, "{\"error\": {\"code\": \"method-not-allowed\"}}", "GET");
    };
    private final ConsolePage console = new ConsolePage(assets, api);

    private static String text(Reply r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void theDaemonPageIsServedWithItsSecurityHeadersAndCallsTheTokenApi() {
        Reply page = daemon.answer("GET", "/", "127.0.0.1:4000", 4000);
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.headers().get("Content-Security-Policy")).contains("default-src 'self'", "script-src 'self'",
                "frame-ancestors 'none'");
        assertThat(page.headers()).containsEntry("X-Frame-Options", "DENY").containsEntry("Cache-Control", "no-store")
                .containsEntry("X-Content-Type-Options", "nosniff");
        assertThat(text(page)).contains("data-mode=\"daemon\"", "data-api=\"/api/v1\"",
                "<script src=\"res/dashboard.js\"></script>").doesNotContain("<script>", "style=", "http://",
                "https://");
        Reply script = daemon.answer("GET", "/res/dashboard.js", "localhost:4000", 4000);
        assertThat(script.status()).isEqualTo(200);
        assertThat(script.contentType()).startsWith("text/javascript");
        // The one absolute URL in the script is SVG's namespace name, which is never fetched.
        assertThat(text(script)).contains("Authorization", "sessionStorage").doesNotContain("https://",
                "document.cookie", "innerHTML");
        assertThat(text(script).replace("'http://www.w3.org/2000/svg'", "")).doesNotContain("http://");
        assertThat(daemon.answer("GET", "/res/dashboard.css", "localhost:4000", 4000).headers())
                .containsKey("Content-Security-Policy");
    }

    @Test
    void theDaemonPageRedirectsToItsFolderAndRefusesOtherHostsMethodsAndFiles() {
        Reply redirect = daemon.answer("GET", null, "127.0.0.1:4000", 4000);
        assertThat(redirect.status()).isEqualTo(302);
        assertThat(redirect.headers()).containsEntry("Location", "/kcopyd/");
        Reply rebinding = daemon.answer("GET", "/", "evil.example:4000", 4000);
        assertThat(rebinding.status()).isEqualTo(421);
        assertThat(text(rebinding)).contains("evil.example:4000", "127.0.0.1:4000");
        Reply post = daemon.answer("POST", "/", "127.0.0.1:4000", 4000);
        assertThat(post.status()).isEqualTo(405);
        assertThat(post.headers()).containsEntry("Allow", "GET, HEAD");
        assertThat(daemon.answer("GET", "/res/dashboard.html", "127.0.0.1:4000", 4000).status()).isEqualTo(404);
        assertThat(daemon.answer("GET", "/res/../OSGI-INF/x", "127.0.0.1:4000", 4000).status()).isEqualTo(404);
        assertThat(text(daemon.answer("GET", "/nothing", "127.0.0.1:4000", 4000))).contains("/kcopyd/nothing");
    }

    @Test
    void theConsoleTabIsTheSameBodyWithTheConsolesApi() {
        Reply tab = console.answer("GET", "/kcopyd", "/system/console", null, null, InputStream.nullInputStream(), -1);
        assertThat(tab.status()).isEqualTo(200);
        assertThat(text(tab)).contains("data-mode=\"console\"", "data-api=\"/system/console/kcopyd/api.json\"",
                "<script src=\"/system/console/kcopyd/res/dashboard.js\"></script>", "id=\"kc-jobs\"");
        assertThat(console.answer("GET", "/kcopyd/res/dashboard.js", "/system/console", null, null,
                InputStream.nullInputStream(), -1).status()).isEqualTo(200);
    }

    @Test
    void theConsolesApiAnswersThroughControlApiOnlyWithTheGuardHeader() {
        Reply status = console.answer("GET", "/kcopyd/api.json", "/system/console", "/status", "1",
                InputStream.nullInputStream(), -1);
        assertThat(status.status()).isEqualTo(200);
        assertThat(text(status)).isEqualTo("{\"pid\": 1}");
        assertThat(status.contentType()).isEqualTo("application/json; charset=utf-8");

        byte[] body = "{\"x\": 1}".getBytes(StandardCharsets.UTF_8);
        Reply refused = console.answer("POST", "/kcopyd/api.json", "/system/console", "/status", "1",
                new ByteArrayInputStream(body), body.length);
        assertThat(refused.status()).isEqualTo(405);
        assertThat(refused.headers()).containsEntry("Allow", "GET");
        assertThat(calls).containsExactly("GET /status ", "POST /status {\"x\": 1}");

        Reply forged = console.answer("POST", "/kcopyd/api.json", "/system/console", "/jobs/1/cancel", null,
                InputStream.nullInputStream(), -1);
        assertThat(forged.status()).isEqualTo(403);
        assertThat(text(forged)).contains("X-Kcopyd-Api: 1");
        assertThat(console.answer("GET", "/kcopyd/api.json", "/system/console", "status", "1",
                InputStream.nullInputStream(), -1).status()).isEqualTo(400);
        assertThat(calls).hasSize(2);
    }
}
