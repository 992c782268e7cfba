package org.kcopyd.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.vmOptions;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.features;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.control.ControlApi;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.LogLevelOption;
import org.ops4j.pax.exam.options.MavenArtifactUrlReference;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The dashboard's "kcopyd" tab in Karaf 4.4's own Web Console (Felix Web Console 4, javax.servlet on
 * Pax Web): {@code feature:install http webconsole kcopyd-webconsole} as boot features, Pax Web on
 * 127.0.0.1 and a port free when the test starts, a user {@code karaf} with the {@code admin} role the
 * console requires. Over HTTP: the tab's page inside the console, its stylesheet and script with their
 * types, 401 without credentials; its {@code api.json?path=...} answers as kcopyd.control's
 * {@link ControlApi} does in the same process (Karaf serves no Jakarta whiteboard, so no daemon API
 * over HTTP here), only with the {@code X-Kcopyd-Api: 1} header (else 403); a snapshot POSTed through
 * it is the ControlApi's snapshot.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class WebConsoleKarafIT {

    private static final long TIMEOUT_MS = 60_000;
    private static final String USER = "Basic " + Base64.getEncoder().encodeToString(
            "karaf:karaf".getBytes(StandardCharsets.UTF_8));
    private static final Pattern KEY = Pattern.compile("\"([A-Za-z][A-Za-z0-9]*)\":");

    @Inject
    private ControlApi api;

    @Inject
    private BundleContext context;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @Configuration
    public Option[] karaf() throws IOException {
        String karafVersion = System.getProperty("karaf.version");
        MavenArtifactUrlReference karaf = maven().groupId("org.apache.karaf").artifactId("apache-karaf")
                .version(karafVersion).type("tar.gz");
        MavenArtifactUrlReference kcopydFeatures = maven().groupId("org.kcopyd").artifactId("kcopyd.features")
                .version(System.getProperty("kcopyd.version")).classifier("features").type("xml");
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        return options(
                karafDistributionConfiguration().frameworkUrl(karaf).unpackDirectory(new File("target/exam"))
                        .useDeployFolder(false),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(),
                logLevel(LogLevelOption.LogLevel.WARN),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository",
                        System.getProperty("maven.repo")),
                editConfigurationFilePut("etc/org.ops4j.pax.web.cfg", "org.osgi.service.http.port",
                        String.valueOf(port)),
                editConfigurationFilePut("etc/org.ops4j.pax.web.cfg", "org.ops4j.pax.web.listening.addresses",
                        "127.0.0.1"),
                // The distribution has no user: one with the role Karaf's Web Console asks for (admin).
                editConfigurationFilePut("etc/users.properties", "karaf", "karaf,admin,manager,viewer"),
                features(kcopydFeatures, "http", "webconsole", "kcopyd-webconsole"),
                // What bin/karaf passes on Java 9+, which Pax Exam does not (as KarafIT).
                vmOptions("--add-reads=java.xml=java.logging",
                        "--add-exports=java.base/org.apache.karaf.specs.locator=java.xml,ALL-UNNAMED",
                        "--patch-module", "java.base=lib/endorsed/org.apache.karaf.specs.locator-" + karafVersion + ".jar",
                        "--patch-module", "java.xml=lib/endorsed/org.apache.karaf.specs.java.xml-" + karafVersion + ".jar",
                        "--add-opens", "java.base/java.security=ALL-UNNAMED",
                        "--add-opens", "java.base/java.net=ALL-UNNAMED",
                        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                        "--add-opens", "java.base/java.util=ALL-UNNAMED",
                        "--add-opens", "java.naming/javax.naming.spi=ALL-UNNAMED",
                        "--add-opens", "java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.file=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.ftp=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.content.text=ALL-UNNAMED",
                        "--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED",
                        "--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED",
                        "-classpath", "lib/jdk9plus/*" + File.pathSeparator + "lib/boot/*"));
    }

    /** One answer: status, content type (lower case, no spaces; null if none) and body. */
    private record Answer(int status, String contentType, String body) {
    }

    private static Answer call(String method, String url, String body, String... headers) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setRequestMethod(method);
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout((int) TIMEOUT_MS);
        c.setReadTimeout((int) TIMEOUT_MS);
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
            return new Answer(status, type == null ? null : type.toLowerCase(Locale.ROOT).replace(" ", ""), text);
        } finally {
            c.disconnect();
        }
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + TIMEOUT_MS + " ms waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    /** @return {@code http://127.0.0.1:PORT/system/console/kcopyd} once the tab answers */
    private String tab() throws Exception {
        Object port = configurationAdmin.getConfiguration("org.ops4j.pax.web", null).getProperties()
                .get("org.osgi.service.http.port");
        String tab = "http://127.0.0.1:" + port + "/system/console/kcopyd";
        // Pax Web, the console and its plugin all come up asynchronously.
        await("the Web Console's kcopyd tab at " + tab, () -> {
            try {
                return call("GET", tab, null, "Authorization", USER).status() == 200;
            } catch (IOException e) {
                return false;
            }
        });
        return tab;
    }

    private static String apiUrl(String tab, String apiPath) {
        return tab + "/api.json?path=" + URLEncoder.encode(apiPath, StandardCharsets.UTF_8);
    }

    private Answer console(String tab, String method, String apiPath, String body) throws IOException {
        return call(method, apiUrl(tab, apiPath), body, "Authorization", USER, "X-Kcopyd-Api", "1");
    }

    /** The same request to the ControlApi service in this process. */
    private String direct(String method, String apiPath) {
        return api.answer(method, apiPath, new ByteArrayInputStream(new byte[0]), 0).json();
    }

    private static Set<String> keys(String json) {
        Set<String> keys = new TreeSet<>();
        Matcher m = KEY.matcher(json);
        while (m.find()) {
            keys.add(m.group(1));
        }
        return keys;
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*([^,}]*)").matcher(json);
        assertTrue(name + " in " + json, m.find());
        return m.group(1);
    }

    @Test
    public void theTabIsServedByKarafsWebConsole() throws Exception {
        String tab = tab();
        // Karaf's console (its repackaged Felix Web Console 4) is javax.servlet: the tab is kcopyd.web's javax plugin.
        Bundle console = Arrays.stream(context.getBundles())
                .filter(b -> "org.apache.karaf.webconsole.console".equals(b.getSymbolicName())).findFirst()
                .orElseThrow(() -> new AssertionError("no org.apache.karaf.webconsole.console among "
                        + Arrays.toString(context.getBundles())));
        String imports = console.getHeaders().get("Import-Package");
        assertTrue(imports, imports.contains("javax.servlet.http"));
        assertFalse(imports, imports.contains("jakarta.servlet"));
        Answer page = call("GET", tab, null, "Authorization", USER);
        assertEquals(page.body(), 200, page.status());
        assertTrue(page.contentType(), page.contentType().startsWith("text/html"));
        assertTrue(page.body(), page.body().contains("<div id=\"kcopyd\" class=\"kcopyd\" data-mode=\"console\" "
                + "data-api=\"/system/console/kcopyd/api.json\">"));
        assertTrue(page.body(), page.body().contains("href=\"/system/console/kcopyd/res/dashboard.css\""));
        assertTrue(page.body(), page.body().contains("src=\"/system/console/kcopyd/res/dashboard.js\""));
        assertTrue("inside the console's frame: " + page.body(), page.body().contains("/system/console/res/"));

        Answer css = call("GET", tab + "/res/dashboard.css", null, "Authorization", USER);
        assertEquals(css.body(), 200, css.status());
        assertEquals("text/css;charset=utf-8", css.contentType());
        assertTrue(css.body(), css.body().contains(".kcopyd"));
        assertFalse("not decorated", css.body().contains("<html"));
        Answer js = call("GET", tab + "/res/dashboard.js", null, "Authorization", USER);
        assertEquals(js.body(), 200, js.status());
        assertEquals("text/javascript;charset=utf-8", js.contentType());
        assertTrue(js.body(), js.body().contains("X-Kcopyd-Api"));
        Answer other = call("GET", tab + "/res/other.js", null, "Authorization", USER);
        assertEquals(other.body(), 404, other.status());

        Answer anonymous = call("GET", tab, null);
        assertEquals(401, anonymous.status());
        assertFalse(anonymous.body(), anonymous.body().contains("data-mode"));
        assertEquals(401, call("GET", tab + "/res/dashboard.js", null).status());
    }

    @Test
    public void theTabsApiIsTheControlApiBehindTheConsolesLoginAndTheGuard() throws Exception {
        String tab = tab();
        Answer status = console(tab, "GET", "/status", null);
        assertEquals(status.body(), 200, status.status());
        assertEquals("application/json;charset=utf-8", status.contentType());
        String direct = direct("GET", "/status");
        assertEquals(status.body(), keys(direct), keys(status.body()));
        assertEquals(status.body(), field(direct, "pid"), field(status.body(), "pid"));
        assertEquals(status.body(), field(direct, "startedAt"), field(status.body(), "startedAt"));

        Answer unguarded = call("GET", apiUrl(tab, "/status"), null, "Authorization", USER);
        assertEquals(unguarded.body(), 403, unguarded.status());
        assertTrue(unguarded.body(), unguarded.body().contains("X-Kcopyd-Api: 1"));
        Answer unguardedPost = call("POST", apiUrl(tab, "/snapshots"), "{\"name\": \"x\"}", "Authorization", USER);
        assertEquals(unguardedPost.body(), 403, unguardedPost.status());
        Answer anonymous = call("GET", apiUrl(tab, "/status"), null, "X-Kcopyd-Api", "1");
        assertEquals(anonymous.body(), 401, anonymous.status());
        assertFalse(anonymous.body(), anonymous.body().contains("startedAt"));

        Path dir = Files.createTempDirectory("kcopyd-karaf-console");
        try {
            Path origin = Files.write(dir.resolve("origin.img"), new byte[1 << 20]);
            Path cow = dir.resolve("s1.cow");
            Answer created = console(tab, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                    + "\", \"cowStore\": \"" + cow + "\", \"chunkSectors\": 16, \"cowStoreSizeMiB\": 1}");
            assertEquals(created.body(), 201, created.status());
            assertTrue(created.body(), created.body().contains("\"state\":\"active\""));
            assertTrue("COW store made", Files.exists(cow));
            String listed = direct("GET", "/snapshots");
            assertTrue(listed, listed.startsWith("{\"snapshots\":[{\"name\":\"s1\""));
            assertEquals(listed, console(tab, "GET", "/snapshots", null).body());
            Answer removed = console(tab, "DELETE", "/snapshots/s1", null);
            assertEquals(removed.body(), 200, removed.status());
            assertEquals("{\"snapshots\":[]}", direct("GET", "/snapshots"));
        } finally {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.delete(p);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
    }
}
