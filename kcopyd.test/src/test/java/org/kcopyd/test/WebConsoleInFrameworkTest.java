package org.kcopyd.test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.CoreOptions;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The dashboard's "kcopyd" tab in a real Apache Felix Web Console 5.0.8 (Jakarta), over real HTTP:
 * Felix HTTP Jetty on 127.0.0.1 and a port the system chooses, the Web Console with its default
 * credentials (admin/admin, HTTP Basic) and the least it resolves with (Felix Inventory 1.x, OWASP
 * Encoder, Pax Logging's SLF4J), kcopyd.control configured with an owner-only token file (so the
 * daemon's own API answers next to the console) and kcopyd.web. The tab's page, stylesheet and
 * script are served inside the console; its {@code api.json?path=...} answers as the daemon's
 * {@code /api/v1/...} does, only with the console's credentials and the {@code X-Kcopyd-Api: 1}
 * header; a snapshot made through it is the daemon API's snapshot.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class WebConsoleInFrameworkTest extends KcopydTestSupport {

    private static final String RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";
    private static final String CONSOLE = "system/console";
    private static final String ADMIN = "Basic " + Base64.getEncoder().encodeToString(
            "admin:admin".getBytes(StandardCharsets.UTF_8));
    private static final Pattern KEY = Pattern.compile("\"([A-Za-z][A-Za-z0-9]*)\":");

    private Path dir;
    private String token;

    @Override
    @org.ops4j.pax.exam.Configuration
    public Option[] framework() {
        List<Option> options = new ArrayList<>(Arrays.asList(super.framework()));
        options.add(frameworkProperty("org.osgi.service.http.port").value("0"));
        options.add(frameworkProperty("org.apache.felix.http.host").value("127.0.0.1"));
        for (String b : List.of("bundle.paxlogging", "bundle.http.servlet", "bundle.http.jetty", "bundle.kcopyd.nbd",
                "bundle.kcopyd.control", "bundle.inventory", "bundle.encoder", "bundle.webconsole",
                "bundle.kcopyd.web")) {
            String path = System.getProperty(b);
            if (path == null) {
                throw new IllegalStateException("system property " + b + " is not set: run through Maven");
            }
            options.add(CoreOptions.bundle(new File(path).toURI().toString()));
        }
        return options.toArray(new Option[0]);
    }

    @Before
    public void configure() throws Exception {
        dir = Files.createTempDirectory("kcopyd-console");
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            hex.append(String.format("%02x", ThreadLocalRandom.current().nextInt(256)));
        }
        token = hex.toString();
        Path tokenFile = dir.resolve("control.token");
        Files.writeString(tokenFile, token + "\n");
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-------"));
        Configuration control = service(ConfigurationAdmin.class).getConfiguration("org.kcopyd.control", "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("tokenFile", tokenFile.toString());
        control.update(props);
    }

    @After
    public void cleanUp() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(f);
            }
        }
    }

    /** One answer: status, content type (lower case, no spaces; null if none), headers and body. */
    private record Answer(int status, String contentType, Map<String, List<String>> headers, String body) {
    }

    /**
     * @param headers request headers, name then value
     * @return the answer to {@code method url} with the body (JSON) if not null
     */
    private static Answer call(String method, String url, String body, String... headers) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setRequestMethod(method);
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout((int) TIMEOUT_MS);
        c.setReadTimeout(60_000);
        for (int i = 0; i < headers.length; i += 2) {
            c.setRequestProperty(headers[i], headers[i + 1]);
        }
        if (body != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json; charset=utf-8");
            try (OutputStream out = c.getOutputStream()) {
                out.write(body.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
            String text = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            String type = c.getContentType();
            return new Answer(status, type == null ? null : type.toLowerCase(Locale.ROOT).replace(" ", ""),
                    c.getHeaderFields(), text);
        } finally {
            c.disconnect();
        }
    }

    /** @return the base URL of the HTTP runtime, {@code http://127.0.0.1:PORT/} */
    private String endpoint() throws Exception {
        ServiceTracker<Object, Object> runtime = new ServiceTracker<>(context, context.createFilter(
                "(objectClass=" + RUNTIME + ")"), null);
        runtime.open();
        try {
            assertTrue("no " + RUNTIME + " service", runtime.waitForService(TIMEOUT_MS) != null);
            ServiceReference<Object> ref = runtime.getServiceReference();
            Object endpoint = ref.getProperty("osgi.http.endpoint");
            String first = endpoint instanceof String[] a ? a[0] : endpoint instanceof java.util.Collection<?> l
                    ? String.valueOf(l.iterator().next()) : String.valueOf(endpoint);
            assertTrue("endpoint " + first, first.startsWith("http://127.0.0.1:"));
            return first.endsWith("/") ? first : first + "/";
        } finally {
            runtime.close();
        }
    }

    /** @return the base URL once the console's kcopyd tab and the daemon's API both answer */
    private String ready() throws Exception {
        String base = endpoint();
        // The console, its plugin and the API servlet all come up asynchronously: until then 404 (or 503).
        await("the Web Console's kcopyd tab to answer", () -> {
            try {
                return call("GET", base + CONSOLE + "/kcopyd", null, "Authorization", ADMIN).status() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        await("the daemon's API to answer", () -> {
            try {
                return daemon(base, "GET", "/status", null).status() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        return base;
    }

    /** The daemon's own API, with the token. */
    private Answer daemon(String base, String method, String path, String body) throws IOException {
        return call(method, base + "api/v1" + path, body, "Authorization", "Bearer " + token);
    }

    /** The tab's API with the console's credentials and the guard header. */
    private static Answer console(String base, String method, String apiPath, String body) throws IOException {
        return call(method, apiUrl(base, apiPath), body, "Authorization", ADMIN, "X-Kcopyd-Api", "1");
    }

    private static String apiUrl(String base, String apiPath) {
        return base + CONSOLE + "/kcopyd/api.json?path=" + URLEncoder.encode(apiPath, StandardCharsets.UTF_8);
    }

    /** @return every object key in a JSON text, at any depth */
    private static Set<String> keys(String json) {
        Set<String> keys = new TreeSet<>();
        Matcher m = KEY.matcher(json);
        while (m.find()) {
            keys.add(m.group(1));
        }
        return keys;
    }

    /** @return the value of the first {@code "name":} in a JSON text, as written (up to the next , or }) */
    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":([^,}]*)").matcher(json);
        assertTrue(name + " in " + json, m.find());
        return m.group(1);
    }

    private static void assertJson(String what, Answer a) {
        assertEquals("content type of " + what + ": " + a.body(), "application/json;charset=utf-8", a.contentType());
    }

    @Test
    public void theTabIsAConsolePageWithItsStylesheetAndScript() throws Exception {
        String base = ready();
        Answer page = call("GET", base + CONSOLE + "/kcopyd", null, "Authorization", ADMIN);
        assertEquals(page.body(), 200, page.status());
        assertTrue(page.contentType(), page.contentType().startsWith("text/html"));
        // The tab's own markup, in console mode, calling the console's api.json...
        assertTrue(page.body(), page.body().contains("<div id=\"kcopyd\" class=\"kcopyd\" data-mode=\"console\" "
                + "data-api=\"/system/console/kcopyd/api.json\">"));
        assertTrue(page.body(), page.body().contains("<section id=\"kc-snapshots\">"));
        assertTrue(page.body(), page.body().contains("href=\"/system/console/kcopyd/res/dashboard.css\""));
        assertTrue(page.body(), page.body().contains("src=\"/system/console/kcopyd/res/dashboard.js\""));
        // ... inside the console's frame: its own stylesheet and the tab in its menu.
        assertTrue(page.body(), page.body().contains("/system/console/res/"));
        assertTrue(page.body(), page.body().contains("href=\"/system/console/kcopyd\""));
        // The page is also listed among the console's tabs on another of its pages.
        Answer bundles = call("GET", base + CONSOLE + "/bundles", null, "Authorization", ADMIN);
        assertEquals(200, bundles.status());
        assertTrue(bundles.body(), bundles.body().contains("/system/console/kcopyd"));

        Answer css = call("GET", base + CONSOLE + "/kcopyd/res/dashboard.css", null, "Authorization", ADMIN);
        assertEquals(css.body(), 200, css.status());
        assertEquals("text/css;charset=utf-8", css.contentType());
        assertTrue(css.body(), css.body().contains(".kcopyd"));
        assertFalse("not decorated by the console: " + css.body(), css.body().contains("<html"));
        Answer js = call("GET", base + CONSOLE + "/kcopyd/res/dashboard.js", null, "Authorization", ADMIN);
        assertEquals(js.body(), 200, js.status());
        assertEquals("text/javascript;charset=utf-8", js.contentType());
        assertTrue(js.body(), js.body().contains("X-Kcopyd-Api"));
        assertFalse("not decorated by the console", js.body().contains("<html"));
        // Only the listed files: not the page's template (which the console decorates, as any .html), nor others.
        Answer template = call("GET", base + CONSOLE + "/kcopyd/res/dashboard.html", null, "Authorization", ADMIN);
        assertEquals(template.body(), 404, template.status());
        assertFalse(template.body(), template.body().contains("${mode}"));
        assertTrue(template.body(), template.body().contains("no kcopyd page /kcopyd/res/dashboard.html"));
        Answer other = call("GET", base + CONSOLE + "/kcopyd/res/other.js", null, "Authorization", ADMIN);
        assertEquals(other.body(), 404, other.status());
        assertEquals("text/plain;charset=utf-8", other.contentType());

        Answer anonymous = call("GET", base + CONSOLE + "/kcopyd", null);
        assertEquals(401, anonymous.status());
        assertFalse(anonymous.body(), anonymous.body().contains("data-mode"));
        assertEquals(401, call("GET", base + CONSOLE + "/kcopyd/res/dashboard.js", null).status());
        String wrong = "Basic " + Base64.getEncoder().encodeToString("admin:nimda".getBytes(StandardCharsets.UTF_8));
        assertEquals(401, call("GET", base + CONSOLE + "/kcopyd", null, "Authorization", wrong).status());
    }

    @Test
    public void theTabsApiAnswersAsTheDaemonsWithTheGuardAndCredentialsOnly() throws Exception {
        String base = ready();
        Answer viaConsole = console(base, "GET", "/status", null);
        assertEquals(viaConsole.body(), 200, viaConsole.status());
        assertJson("status through the console", viaConsole);
        assertEquals("no-store", viaConsole.headers().get("Cache-Control").get(0));
        Answer direct = daemon(base, "GET", "/status", null);
        assertEquals(direct.body(), 200, direct.status());
        assertJson("the daemon's status", direct);
        Set<String> fields = keys(direct.body());
        assertTrue(direct.body(), fields.containsAll(List.of("stateDirectory", "defaultPages", "snapshots")));
        assertEquals(viaConsole.body(), fields, keys(viaConsole.body()));
        // The same process answers both: its pid and start.
        assertEquals(viaConsole.body(), field(direct.body(), "pid"), field(viaConsole.body(), "pid"));
        assertEquals(viaConsole.body(), field(direct.body(), "startedAt"), field(viaConsole.body(), "startedAt"));

        Answer unguarded = call("GET", apiUrl(base, "/status"), null, "Authorization", ADMIN);
        assertEquals(unguarded.body(), 403, unguarded.status());
        assertJson("the refusal", unguarded);
        assertTrue(unguarded.body(), unguarded.body().contains("\"code\": \"forbidden\""));
        assertTrue(unguarded.body(), unguarded.body().contains("X-Kcopyd-Api: 1"));
        Answer wrongGuard = call("GET", apiUrl(base, "/status"), null, "Authorization", ADMIN, "X-Kcopyd-Api", "yes");
        assertEquals(wrongGuard.body(), 403, wrongGuard.status());
        Answer unguardedPost = call("POST", apiUrl(base, "/snapshots"), "{\"name\": \"x\"}", "Authorization", ADMIN);
        assertEquals(unguardedPost.body(), 403, unguardedPost.status());

        Answer anonymous = call("GET", apiUrl(base, "/status"), null, "X-Kcopyd-Api", "1");
        assertEquals(anonymous.body(), 401, anonymous.status());
        assertFalse(anonymous.body(), anonymous.body().contains("stateDirectory"));
        Answer anonymousPost = call("POST", apiUrl(base, "/snapshots"), "{\"name\": \"x\"}", "X-Kcopyd-Api", "1");
        assertEquals(anonymousPost.body(), 401, anonymousPost.status());

        Answer unknown = console(base, "GET", "/nothing", null);
        assertEquals(unknown.body(), 404, unknown.status());
        assertTrue(unknown.body(), unknown.body().contains("\"code\":\"not-found\""));
        Answer notAllowed = console(base, "DELETE", "/status", null);
        assertEquals(notAllowed.body(), 405, notAllowed.status());
        assertNotNull("Allow header", notAllowed.headers().get("Allow"));
        Answer noPath = call("GET", base + CONSOLE + "/kcopyd/api.json", null, "Authorization", ADMIN, "X-Kcopyd-Api",
                "1");
        assertEquals(noPath.body(), 400, noPath.status());
        assertTrue(noPath.body(), noPath.body().contains("?path=/status"));
        assertEquals("nothing was made", "{\"snapshots\":[]}", daemon(base, "GET", "/snapshots", null).body());
    }

    @Test
    public void aSnapshotMadeThroughTheTabIsTheDaemonsSnapshot() throws Exception {
        String base = ready();
        Path origin = Files.write(dir.resolve("origin.img"), new byte[1 << 20]);
        Path cow = dir.resolve("s1.cow");
        Answer created = console(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + cow + "\", \"chunkSectors\": 16, \"cowStoreSizeMiB\": 1}");
        assertEquals(created.body(), 201, created.status());
        assertJson("the created snapshot", created);
        assertTrue(created.body(), created.body().contains("\"state\":\"active\""));
        assertTrue("COW store made", Files.exists(cow));

        Answer listed = daemon(base, "GET", "/snapshots", null);
        assertEquals(listed.body(), 200, listed.status());
        assertTrue(listed.body(), listed.body().startsWith("{\"snapshots\":[{\"name\":\"s1\""));
        assertTrue(listed.body(), listed.body().contains("\"origin\":\"" + origin + "\""));
        assertEquals(listed.body(), console(base, "GET", "/snapshots", null).body());
        assertTrue(daemon(base, "GET", "/status", null).body().contains("\"snapshots\":1"));

        Answer again = console(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + dir.resolve("other.cow") + "\"}");
        assertEquals(again.body(), 409, again.status());

        Answer removed = console(base, "DELETE", "/snapshots/s1", null);
        assertEquals(removed.body(), 200, removed.status());
        assertEquals("{\"snapshots\":[]}", daemon(base, "GET", "/snapshots", null).body());
    }
}
