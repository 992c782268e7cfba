package org.kcopyd.test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.control.ConfigurationOutcome;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.snapshot.Snapshot;
import org.ops4j.pax.exam.CoreOptions;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The control API in a real framework, over real HTTP: Felix HTTP Jetty on 127.0.0.1 and a port the
 * system chooses, kcopyd.control configured with an owner-only token file. A request without the
 * token is 401; with it, status answers, a snapshot of a temporary file is made, listed, exported on
 * a Unix socket (which then speaks NBD), and both are removed again (the snapshot only once its
 * export is gone).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class ControlApiInFrameworkTest extends KcopydTestSupport {

    private static final String API_FILTER = "(kcopyd.control.api=1)";
    private static final String RUNTIME = "org.osgi.service.servlet.runtime.HttpServiceRuntime";
    private Path dir;
    private String token;
    private Configuration control;

    @Override
    @org.ops4j.pax.exam.Configuration
    public Option[] framework() {
        List<Option> options = new ArrayList<>(Arrays.asList(super.framework()));
        options.add(frameworkProperty("org.osgi.service.http.port").value("0"));
        options.add(frameworkProperty("org.apache.felix.http.host").value("127.0.0.1"));
        for (String b : List.of("bundle.paxlogging", "bundle.http.servlet", "bundle.http.jetty", "bundle.kcopyd.nbd",
                "bundle.kcopyd.control")) {
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
        dir = Files.createTempDirectory("kcopyd-control");
        configure("rw-------");
    }

    private void configure(String permissions) throws Exception {
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            hex.append(String.format("%02x", ThreadLocalRandom.current().nextInt(256)));
        }
        token = hex.toString();
        Path tokenFile = dir.resolve("control.token");
        Files.writeString(tokenFile, token + "\n");
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString(permissions));
        control = service(ConfigurationAdmin.class).getConfiguration("org.kcopyd.control", "?");
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

    /** One answer: the status and the body. */
    private record Answer(int status, String body) {
    }

    private Answer call(String base, String method, String path, String body, boolean withToken) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(base + "api/v1" + path).openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout((int) TIMEOUT_MS);
        c.setReadTimeout(60_000);
        if (withToken) {
            c.setRequestProperty("Authorization", "Bearer " + token);
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
            if (status != 404 || text.startsWith("{")) {
                // Jetty writes it without the space: application/json;charset=utf-8.
                assertEquals("content type of " + method + " " + path, "application/json;charset=utf-8",
                        c.getContentType().toLowerCase(java.util.Locale.ROOT).replace(" ", ""));
            }
            return new Answer(status, text);
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

    /** @return the base URL once the API answers */
    private String api() throws Exception {
        ServiceTracker<Object, Object> api = new ServiceTracker<>(context, context.createFilter(API_FILTER), null);
        api.open();
        try {
            assertTrue("the API servlet is not registered", api.waitForService(TIMEOUT_MS) != null);
        } finally {
            api.close();
        }
        String base = endpoint();
        // The whiteboard deploys the servlet asynchronously: until then Jetty answers 404 without JSON.
        await("the API to answer", () -> {
            try {
                return call(base, "GET", "/status", null, false).status() == 401;
            } catch (IOException e) {
                return false;
            }
        });
        return base;
    }

    /** Sends a request by hand, with the Host header given: the status line's code. */
    private static int rawStatus(String base, String host, String token) throws IOException {
        URL url = new URL(base);
        try (java.net.Socket socket = new java.net.Socket(url.getHost(), url.getPort())) {
            socket.setSoTimeout(60_000);
            socket.getOutputStream().write(("GET /api/v1/status HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer "
                    + token + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(reply, reply.startsWith("HTTP/1.1 "));
            return Integer.parseInt(reply.substring(9, 12));
        }
    }

    @Test
    public void snapshotAndExportThroughTheApi() throws Exception {
        String base = api();
        Answer unauthorized = call(base, "GET", "/status", null, false);
        assertEquals(401, unauthorized.status());
        assertTrue(unauthorized.body(), unauthorized.body().contains("\"code\":\"unauthorized\""));

        int port = new URL(base).getPort();
        assertEquals(421, rawStatus(base, "attacker.example:" + port, token));
        assertEquals(421, rawStatus(base, "127.0.0.1:" + (port == 1 ? 2 : port - 1), token));
        assertEquals(200, rawStatus(base, "localhost:" + port, token));

        Answer status = call(base, "GET", "/status", null, true);
        assertEquals(status.body(), 200, status.status());
        assertTrue(status.body(), status.body().contains("\"stateDirectory\":\"" + dir + "\""));
        assertTrue(status.body(), status.body().contains("\"defaultPages\":"));
        assertTrue(status.body(), status.body().contains("\"snapshots\":0"));

        Answer unknown = call(base, "GET", "/nothing", null, true);
        assertEquals(404, unknown.status());
        assertTrue(unknown.body(), unknown.body().contains("\"code\":\"not-found\""));
        Answer notAllowed = call(base, "DELETE", "/status", null, true);
        assertEquals(405, notAllowed.status());
        assertTrue(notAllowed.body(), notAllowed.body().contains("\"code\":\"method-not-allowed\""));

        Path origin = Files.write(dir.resolve("origin.img"), new byte[1 << 20]);
        Path cow = dir.resolve("s1.cow");
        Answer created = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + cow + "\", \"chunkSectors\": 16, \"cowStoreSizeMiB\": 1}", true);
        assertEquals(created.body(), 201, created.status());
        assertTrue(created.body(), created.body().contains("\"state\":\"active\""));
        assertTrue("COW store made", Files.exists(cow));
        Answer again = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + dir.resolve("other.cow") + "\"}", true);
        assertEquals(again.body(), 409, again.status());
        Answer list = call(base, "GET", "/snapshots", null, true);
        assertEquals(200, list.status());
        assertTrue(list.body(), list.body().startsWith("{\"snapshots\":[{\"name\":\"s1\""));

        Path socket = dir.resolve("s1.sock");
        Answer export = call(base, "POST", "/exports", "{\"name\": \"s1\", \"device\": \"snapshot:s1\", \"socket\": \""
                + socket + "\", \"readOnly\": true}", true);
        assertEquals(export.body(), 201, export.status());
        assertTrue(export.body(), export.body().contains("\"uri\":\"nbd+unix:///s1?socket=" + socket + "\""));
        assertTrue(export.body(), export.body().contains("\"state\":\"serving\""));
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ByteBuffer greeting = ByteBuffer.allocate(8);
            while (greeting.hasRemaining() && ch.read(greeting) >= 0) {
                // An NBD server greets first: NBDMAGIC.
            }
            assertEquals("NBDMAGIC", new String(greeting.array(), StandardCharsets.US_ASCII));
        }

        Answer inUse = call(base, "DELETE", "/snapshots/s1", null, true);
        assertEquals(inUse.body(), 409, inUse.status());
        assertTrue(inUse.body(), inUse.body().contains("exported by s1"));

        Answer exportRemoved = call(base, "DELETE", "/exports/s1", null, true);
        assertEquals(exportRemoved.body(), 200, exportRemoved.status());
        assertEquals("{\"removed\":\"s1\"}", exportRemoved.body());
        assertEquals(404, call(base, "GET", "/exports/s1", null, true).status());
        Answer removed = call(base, "DELETE", "/snapshots/s1", null, true);
        assertEquals(removed.body(), 200, removed.status());
        assertEquals(404, call(base, "GET", "/snapshots/s1", null, true).status());
        assertEquals("{\"snapshots\":[]}", call(base, "GET", "/snapshots", null, true).body());
        assertTrue("the COW store stays", Files.exists(cow));
        assertFalse("no snapshot service left", context.getServiceReferences("org.kcopyd.snapshot.Snapshot", null)
                != null);
    }

    @Test
    public void theOriginIsExportedAndTheEngineConfigurationChanged() throws Exception {
        String base = api();
        Path origin = Files.write(dir.resolve("origin.img"), new byte[1 << 20]);
        Answer created = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + dir.resolve("s1.cow") + "\", \"cowStoreSizeMiB\": 1}", true);
        assertEquals(created.body(), 201, created.status());
        Path socket = dir.resolve("vm.sock");
        Answer export = call(base, "POST", "/exports", "{\"name\": \"vm\", \"device\": \"origin:s1\", \"socket\": \""
                + socket + "\"}", true);
        assertEquals(export.body(), 201, export.status());
        assertTrue(export.body(), export.body().contains("\"device\":\"origin:s1\""));
        Answer missing = call(base, "POST", "/exports", "{\"name\": \"x\", \"device\": \"snapshot:s9\", \"socket\": \""
                + dir.resolve("x.sock") + "\"}", true);
        assertEquals(missing.body(), 404, missing.status());
        Answer taken = call(base, "POST", "/exports", "{\"name\": \"vm\", \"device\": \"snapshot:s1\", \"socket\": \""
                + dir.resolve("y.sock") + "\"}", true);
        assertEquals(taken.body(), 409, taken.status());
        // H48-5: a socket path that is a file: the answer says so (it said "see the log"), and the file stays.
        Path notASocket = Files.writeString(dir.resolve("file.sock"), "precious");
        Answer notServed = call(base, "POST", "/exports", "{\"name\": \"w\", \"device\": \"snapshot:s1\", "
                + "\"socket\": \"" + notASocket + "\"}", true);
        assertEquals(notServed.body(), 500, notServed.status());
        assertTrue(notServed.body(), notServed.body().contains("export w is not served: its device ")
                && notServed.body().contains(" exists and is not a socket")
                && notServed.body().contains("the export was removed"));
        assertEquals("precious", Files.readString(notASocket));
        assertEquals(404, call(base, "GET", "/exports/w", null, true).status());
        // H49-9: a link to nothing was waited for as a socket to appear (30 s), then said not to have appeared.
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.sock"), dir.resolve("nothing-there.sock"));
        long asked = System.nanoTime();
        Answer linkAnswer = call(base, "POST", "/exports", "{\"name\": \"w\", \"device\": \"snapshot:s1\", "
                + "\"socket\": \"" + dangling + "\"}", true);
        assertEquals(linkAnswer.body(), 500, linkAnswer.status());
        assertTrue(linkAnswer.body(), linkAnswer.body().contains(" exists and is not a socket"));
        assertTrue("answered at once", System.nanoTime() - asked < java.util.concurrent.TimeUnit.SECONDS.toNanos(20));
        assertTrue(Files.isSymbolicLink(dangling));
        // A socket in a daemon's state directory would stop the daemon's next start.
        Path state = Files.createDirectory(dir.resolve("state"));
        Path inState = state.resolve("z.sock");
        try (AutoCloseable reserved = org.kcopyd.device.FileClaims.reserve(state,
                "in the state directory of a test daemon")) {
            Answer refused = call(base, "POST", "/exports", "{\"name\": \"z\", \"device\": \"origin:s1\", \"socket\": \""
                    + inState + "\"}", true);
            assertEquals(refused.body(), 400, refused.status());
            assertTrue(refused.body(), refused.body().contains("socket " + inState + " is refused: " + inState
                    + " is in the state directory of a test daemon"));
        }
        assertFalse(Files.exists(inState));
        Answer inUse = call(base, "DELETE", "/snapshots/s1", null, true);
        assertEquals(inUse.body(), 409, inUse.status());
        assertTrue(inUse.body(), inUse.body().contains("exported by vm"));
        assertEquals(200, call(base, "DELETE", "/exports/vm", null, true).status());
        assertEquals(200, call(base, "DELETE", "/snapshots/s1", null, true).status());

        Answer changed = call(base, "PUT", "/config", "{\"defaultPages\": 512}", true);
        assertEquals(changed.body(), 200, changed.status());
        assertTrue(changed.body(), changed.body().contains("\"defaultPages\":512"));
        assertTrue(changed.body(), changed.body().contains("\"refused\":null"));
        Answer refused = call(base, "PUT", "/config", "{\"defaultPages\": 99999999}", true);
        assertEquals(refused.body(), 400, refused.status());
        assertTrue(refused.body(), refused.body().contains("defaultPages 99999999"));
        Answer unknown = call(base, "PUT", "/config", "{\"pages\": 1}", true);
        assertEquals(unknown.body(), 400, unknown.status());
        assertTrue(unknown.body(), unknown.body().contains("unknown setting 'pages'"));
        Answer now = call(base, "GET", "/config", null, true);
        assertTrue(now.body(), now.body().contains("\"defaultPages\":512"));
        assertTrue(now.body(), now.body().contains("\"refused\":null"));
        Configuration engine = service(ConfigurationAdmin.class).getConfiguration("org.kcopyd.engine", "?");
        assertEquals(512, ((Number) engine.getProperties().get("defaultPages")).intValue());
    }

    @Test
    public void aTokenFileOthersCanReadIsRefused() throws Exception {
        control.delete();
        await("the API to go", () -> !apiRegistered());
        configure("rw-r--r--");
        ServiceComponentRuntime scr = service(ServiceComponentRuntime.class);
        await("the control component to fail", () -> scr.getComponentDescriptionDTOs().stream()
                .filter(d -> d.name.endsWith("ControlComponent"))
                .flatMap(d -> scr.getComponentConfigurationDTOs(d).stream())
                .anyMatch(c -> c.state == ComponentConfigurationDTO.FAILED_ACTIVATION
                        && c.failure.contains(dir.resolve("control.token") + " is accessible to others")));
        assertFalse("no API servlet", apiRegistered());
    }

    private boolean apiRegistered() {
        try {
            return context.getServiceReferences((String) null, API_FILTER) != null;
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void mirrorThroughTheApi() throws Exception {
        String base = api();
        byte[] data = new byte[1 << 20];
        new java.util.Random(7).nextBytes(data);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), new byte[1 << 20]);
        Path c = Files.write(dir.resolve("c.img"), new byte[1 << 20]);
        Path log = dir.resolve("m1.log");
        Answer created = call(base, "POST", "/mirrors", "{\"name\": \"m1\", \"legs\": [\"" + a + "\", \"" + b
                + "\"], \"regionLog\": \"" + log + "\", \"regionSectors\": 256}", true);
        assertEquals(created.body(), 201, created.status());
        assertTrue(created.body(), created.body().contains("\"device\":\"mirror:m1\""));
        assertTrue(created.body(), created.body().contains("\"state\":\"active\""));
        awaitInSync(base);
        assertTrue("leg 1 holds leg 0's data", Arrays.equals(data, Files.readAllBytes(b)));

        Path socket = dir.resolve("m1.sock");
        Answer export = call(base, "POST", "/exports", "{\"name\": \"m1\", \"device\": \"mirror:m1\", \"socket\": \""
                + socket + "\"}", true);
        assertEquals(export.body(), 201, export.status());
        Answer inUse = call(base, "DELETE", "/mirrors/m1", null, true);
        assertEquals(inUse.body(), 409, inUse.status());
        assertEquals(200, call(base, "DELETE", "/exports/m1", null, true).status());

        Answer zero = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 0, \"with\": \"" + c + "\"}", true);
        assertEquals(zero.body(), 400, zero.status());
        assertTrue(zero.body(), zero.body().contains("default leg"));
        // H32: a leg the mirror cannot open was configured, waited for 30 s and answered 500 "...: null". Refused
        // at once now, and the mirror goes on with its legs.
        Path odd = Files.write(dir.resolve("odd.img"), new byte[1000]);
        Answer notSectors = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"" + odd + "\"}",
                true);
        assertEquals(notSectors.body(), 400, notSectors.status());
        assertTrue(notSectors.body(), notSectors.body().contains("is 1000 bytes, not a whole number of 512-byte sectors"));
        Path small = Files.write(dir.resolve("small.img"), new byte[64 << 10]);
        Answer tooSmall = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"" + small
                + "\"}", true);
        assertEquals(tooSmall.body(), 400, tooSmall.status());
        assertTrue(tooSmall.body(), tooSmall.body().contains("is 128 sectors, smaller than mirror m1's 2048 sectors"));
        // A file holding a kcopyd COW store header: refused before the mirror is closed for it (400, not the
        // mirror's own refusal after closing, a 500 with the old legs configured again), the file untouched.
        byte[] store = new byte[1 << 20];
        java.nio.ByteBuffer.wrap(store).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, 0x4b43504453534e50L);
        Path cowLike = Files.write(dir.resolve("store.cow"), store);
        Answer cowLeg = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"" + cowLike + "\"}",
                true);
        assertEquals(cowLeg.body(), 400, cowLeg.status());
        assertTrue(cowLeg.body(), cowLeg.body().contains("leg 1 " + cowLike + " holds a kcopyd COW store header"));
        assertTrue("the COW store is untouched", Arrays.equals(store, Files.readAllBytes(cowLike)));
        Path served = Files.write(dir.resolve("served.img"), new byte[1 << 20]);
        Answer roExport = call(base, "POST", "/exports", "{\"name\": \"ro\", \"device\": \"" + served
                + "\", \"socket\": \"" + dir.resolve("ro.sock") + "\", \"readOnly\": true}", true);
        assertEquals(roExport.body(), 201, roExport.status());
        Answer read = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"" + served + "\"}",
                true);
        assertEquals(read.body(), 409, read.status());
        assertTrue(read.body(), read.body().contains("leg 1 " + served + " is open for reading in this daemon"));
        Answer readLeg = call(base, "POST", "/mirrors", "{\"name\": \"m2\", \"legs\": [\"" + c + "\", \"" + served
                + "\"], \"regionLog\": \"" + dir.resolve("m2.log") + "\"}", true);
        assertEquals(readLeg.body(), 409, readLeg.status());
        assertTrue(readLeg.body(), readLeg.body().contains("leg 1 " + served + " is open for reading in this daemon"));
        assertEquals(200, call(base, "DELETE", "/exports/ro", null, true).status());
        Answer still = call(base, "GET", "/mirrors/m1", null, true);
        assertTrue(still.body(), still.body().contains("{\"index\":1,\"device\":\"" + b + "\""));
        assertTrue(still.body(), still.body().contains("\"state\":\"active\""));
        Answer replaced = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"" + c + "\"}",
                true);
        assertEquals(replaced.body(), 200, replaced.status());
        assertTrue(replaced.body(), replaced.body().contains("{\"index\":1,\"device\":\"" + c + "\""));
        awaitInSync(base);
        assertTrue("the new leg holds leg 0's data", Arrays.equals(data, Files.readAllBytes(c)));
        // H45 F4: written outside the mirror in its middle, where no fingerprint looks, a leg in sync is resynced
        // fully from the other on request (its own device again), as LVM's lvchange --resync.
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(c,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), data.length / 2);
        }
        Answer again = call(base, "POST", "/mirrors/m1/replace-leg", "{\"leg\": 1, \"with\": \"" + c + "\"}",
                true);
        assertEquals(again.body(), 200, again.status());
        assertTrue(again.body(), again.body().contains("{\"index\":1,\"device\":\"" + c + "\""));
        awaitInSync(base);
        assertTrue("the leg resynced holds leg 0's data", Arrays.equals(data, Files.readAllBytes(c)));

        Answer removed = call(base, "DELETE", "/mirrors/m1", null, true);
        assertEquals(removed.body(), 200, removed.status());
        assertEquals(404, call(base, "GET", "/mirrors/m1", null, true).status());
        assertEquals("{\"mirrors\":[]}", call(base, "GET", "/mirrors", null, true).body());
        assertTrue("the region log stays", Files.exists(log));
    }

    private void awaitInSync(String base) {
        await("mirror m1 in sync", () -> {
            try {
                Answer m = call(base, "GET", "/mirrors/m1", null, true);
                return m.status() == 200 && m.body().contains("\"regionsToResync\":0")
                        && !m.body().contains("resyncing") && !m.body().contains("failed\"");
            } catch (IOException e) {
                return false;
            }
        });
    }

    @Test
    public void refusalsLeaveNothingAndAStoppedBundleIsUnavailable() throws Exception {
        String base = api();
        Path origin = Files.write(dir.resolve("origin.img"), new byte[1 << 20]);
        // A file that is no COW store, without format: the snapshot component refuses it, and says why.
        Path other = Files.write(dir.resolve("other.cow"), new byte[1 << 16]);
        Answer refused = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + other + "\"}", true);
        assertEquals(refused.body(), 400, refused.status());
        assertTrue(refused.body(), refused.body().contains("snapshot 's1' not created"));
        assertEquals("{\"snapshots\":[]}", call(base, "GET", "/snapshots", null, true).body());
        assertEquals(null, service(ConfigurationAdmin.class).listConfigurations("(service.factoryPid=org.kcopyd.snapshot)"));
        assertTrue("the file is untouched", Arrays.equals(new byte[1 << 16], Files.readAllBytes(other)));

        Answer relative = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"origin.img\", "
                + "\"cowStore\": \"" + dir.resolve("s1.cow") + "\"}", true);
        assertEquals(relative.body(), 400, relative.status());
        assertTrue(relative.body(), relative.body().contains("relative path"));

        bundle("kcopyd.snapshot").stop();
        Answer unavailable = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + dir.resolve("s1.cow") + "\"}", true);
        assertEquals(unavailable.body(), 503, unavailable.status());
        assertTrue(unavailable.body(), unavailable.body().contains("\"code\":\"unavailable\"")
                && unavailable.body().contains("kcopyd.snapshot"));
        assertFalse("no COW store made", Files.exists(dir.resolve("s1.cow")));
    }

    /** @return the first value of {@code "field":} in a JSON text: a string's text, or a number or literal as written */
    private static String field(String json, String field) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field
                + "\":(\"((?:[^\"\\\\]|\\\\.)*)\"|[^,}\\]]+)").matcher(json);
        assertTrue(field + " in " + json, m.find());
        return m.group(2) != null ? m.group(2) : m.group(1);
    }

    private Answer awaitJob(String base, String id, String state) {
        Answer[] last = new Answer[1];
        await("job " + id + " " + state, () -> {
            try {
                last[0] = call(base, "GET", "/jobs/" + id, null, true);
                return last[0].status() == 200 && field(last[0].body(), "state").equals(state);
            } catch (IOException e) {
                return false;
            }
        });
        return last[0];
    }

    @Test
    public void aThrottledCopyJobIsListedCancelledAndAZeroJobCompletes() throws Exception {
        String base = api();
        // 32 MiB at 4 MiB/s: 8 s, cancelled after about one; the chunks in flight then (the client's 8 MiB of
        // pages at most) finish within 2 s more.
        int size = 32 << 20;
        byte[] data = new byte[size];
        new java.util.Random(11).nextBytes(data);
        Path source = Files.write(dir.resolve("source.img"), data);
        byte[] pattern = new byte[size];
        Arrays.fill(pattern, (byte) 0x5A);
        Path target = Files.write(dir.resolve("target.img"), pattern);
        Path small = Files.write(dir.resolve("small.img"), new byte[1 << 20]);

        Answer shorter = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                + "\", \"destinations\": [\"" + small + "\"]}", true);
        assertEquals(shorter.body(), 400, shorter.status());
        assertTrue(shorter.body(), shorter.body().contains("has " + (1 << 20) + " bytes, fewer than the source")
                && shorter.body().contains(size + ""));
        Answer twice = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                + "\", \"destinations\": [\"" + target + "\", \"" + dir.resolve(".").resolve("target.img") + "\"]}", true);
        assertEquals(twice.body(), 400, twice.status());
        assertTrue(twice.body(), twice.body().contains("are the same device"));
        Answer onto = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                + "\", \"destinations\": [\"" + source + "\"]}", true);
        assertEquals(onto.body(), 400, onto.status());

        Answer throttled = call(base, "PUT", "/config", "{\"throttleBytesPerSecond\": 4194304}", true);
        assertEquals(throttled.body(), 200, throttled.status());
        Answer started = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                + "\", \"destinations\": [\"" + target + "\"], \"sparse\": \"never\"}", true);
        assertEquals(started.body(), 202, started.status());
        String id = field(started.body(), "id");
        assertEquals("copy", field(started.body(), "kind"));
        assertEquals(String.valueOf(size), field(started.body(), "bytesTotal"));
        await("progress of job " + id, () -> {
            try {
                Answer now = call(base, "GET", "/jobs/" + id, null, true);
                return Long.parseLong(field(now.body(), "bytesDone")) > 0
                        && !field(now.body(), "bytesPerSecond").equals("null");
            } catch (IOException e) {
                return false;
            }
        });
        Answer list = call(base, "GET", "/jobs", null, true);
        assertTrue(list.body(), list.body().startsWith("{\"jobs\":[{\"id\":\"" + id + "\",\"kind\":\"copy\""));
        assertTrue(list.body(), list.body().contains("\"state\":\"running\""));
        Answer status = call(base, "GET", "/status", null, true);
        assertTrue(status.body(), status.body().contains("{\"name\":\"kcopyd.control job " + id + "\",\"pages\":"));
        assertTrue(status.body(), status.body().contains("\"jobs\":1"));
        // The destination is claimed by the job: another job cannot write it.
        Answer claimed = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"" + target
                + "\"]}", true);
        assertEquals(claimed.body(), 409, claimed.status());

        Answer cancel = call(base, "POST", "/jobs/" + id + "/cancel", null, true);
        assertEquals(cancel.body(), 200, cancel.status());
        Answer ended = awaitJob(base, id, "cancelled");
        assertTrue(ended.body(), ended.body().contains("\"result\":{\"readError\":null,\"destinations\":[{\"device\":\""
                + target + "\",\"complete\":false,\"error\":null}]}"));
        long done = Long.parseLong(field(ended.body(), "bytesDone"));
        assertTrue("cancelled before the end: " + done, done > 0 && done < size);
        // Every 4 KiB block is either copied or untouched, and the copied ones are the bytes done.
        byte[] written = Files.readAllBytes(target);
        long copied = 0;
        for (int at = 0; at < size; at += 4096) {
            boolean same = Arrays.equals(written, at, at + 4096, data, at, at + 4096);
            boolean untouched = Arrays.equals(written, at, at + 4096, pattern, at, at + 4096);
            assertTrue("block at " + at + " is neither copied nor untouched", same || untouched);
            copied += same ? 4096 : 0;
        }
        assertEquals(done, copied);
        assertTrue("the last MiB is untouched", Arrays.equals(written, size - (1 << 20), size, pattern,
                size - (1 << 20), size));

        // The job's devices are closed and its claim released: a zero job may write the destination now.
        Answer zero = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"" + target + "\", \""
                + small + "\"]}", true);
        assertEquals(zero.body(), 202, zero.status());
        String zeroId = field(zero.body(), "id");
        Answer zeroed = awaitJob(base, zeroId, "completed");
        assertTrue(zeroed.body(), zeroed.body().contains("{\"device\":\"" + target + "\",\"complete\":true,"
                + "\"error\":null},{\"device\":\"" + small + "\",\"complete\":true,\"error\":null}"));
        assertEquals(String.valueOf(size + (1 << 20)), field(zeroed.body(), "bytesDone"));
        assertTrue("zeroed", Arrays.equals(new byte[size], Files.readAllBytes(target)));
        assertEquals(404, call(base, "GET", "/jobs/999", null, true).status());
        assertEquals(200, call(base, "POST", "/jobs/" + zeroId + "/cancel", null, true).status());
        assertEquals("completed", field(call(base, "GET", "/jobs/" + zeroId, null, true).body(), "state"));
    }

    @Test
    public void aMergeJobRollsTheOriginBackAndRemovesTheSnapshot() throws Exception {
        String base = api();
        byte[] before = new byte[1 << 20];
        new java.util.Random(3).nextBytes(before);
        byte[] after = new byte[1 << 20];
        new java.util.Random(4).nextBytes(after);
        Path origin = Files.write(dir.resolve("origin.img"), before);
        Path other = Files.write(dir.resolve("other.img"), after);
        Path cow = dir.resolve("s1.cow");
        Answer created = call(base, "POST", "/snapshots", "{\"name\": \"s1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + cow + "\", \"chunkSectors\": 16, \"cowStoreSizeMiB\": 4}", true);
        assertEquals(created.body(), 201, created.status());
        // origin:s1 is the origin file: a copy between them is a copy onto itself.
        Answer itself = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + origin
                + "\", \"destinations\": [\"origin:s1\"]}", true);
        assertEquals(itself.body(), 400, itself.status());
        assertTrue(itself.body(), itself.body().contains("are the same device"));
        // The origin file is claimed by the snapshot: it is written through origin:s1 only.
        Answer claimed = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + other
                + "\", \"destinations\": [\"" + origin + "\"]}", true);
        assertEquals(claimed.body(), 409, claimed.status());
        assertTrue(claimed.body(), claimed.body().contains("snapshot s1"));
        // Nor read by a job as a file: written meanwhile through origin:s1, the copy would mix old and new data.
        Answer reading = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + origin
                + "\", \"destinations\": [\"" + dir.resolve("backup.img") + "\"]}", true);
        assertEquals(reading.body(), 409, reading.status());
        assertTrue(reading.body(), reading.body().contains("is the origin of snapshot s1; write through its origin "
                + "device: a job reading it now would copy a mix of old and new data"));
        assertFalse("nothing made for the refused job", Files.exists(dir.resolve("backup.img")));
        assertEquals(404, call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"snapshot:s9\"]}",
                true).status());
        // Written through origin:s1 by a copy job: the snapshot keeps the old chunks.
        Answer write = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + other
                + "\", \"destinations\": [\"origin:s1\"]}", true);
        assertEquals(write.body(), 202, write.status());
        awaitJob(base, field(write.body(), "id"), "completed");
        assertTrue("the origin holds the new data", Arrays.equals(after, Files.readAllBytes(origin)));
        Answer snapshot = call(base, "GET", "/snapshots/s1", null, true);
        long chunks = Long.parseLong(field(snapshot.body(), "chunksUsed"));
        assertEquals(snapshot.body(), 128, chunks);

        Path socket = dir.resolve("s1.sock");
        assertEquals(201, call(base, "POST", "/exports", "{\"name\": \"s1\", \"device\": \"snapshot:s1\", "
                + "\"socket\": \"" + socket + "\", \"readOnly\": true}", true).status());
        Answer exported = call(base, "POST", "/snapshots/s1/merge", null, true);
        assertEquals(exported.body(), 409, exported.status());
        assertTrue(exported.body(), exported.body().contains("exported by s1"));
        Answer export = call(base, "GET", "/exports/s1", null, true);
        assertTrue(export.body(), export.body().contains("\"connections\":0,\"state\":\"serving\""));
        assertEquals(200, call(base, "DELETE", "/exports/s1", null, true).status());

        Answer merge = call(base, "POST", "/snapshots/s1/merge", null, true);
        assertEquals(merge.body(), 202, merge.status());
        assertEquals("merge", field(merge.body(), "kind"));
        assertEquals(String.valueOf(chunks * 16 * 512), field(merge.body(), "bytesTotal"));
        String id = field(merge.body(), "id");
        Answer cancel = call(base, "POST", "/jobs/" + id + "/cancel", null, true);
        if (cancel.status() != 200) {
            assertEquals(cancel.body(), 409, cancel.status());
            assertTrue(cancel.body(), cancel.body().contains("cannot be cancelled"));
        }
        Answer ended = awaitJob(base, id, "completed");
        assertEquals(String.valueOf(chunks * 16 * 512), field(ended.body(), "bytesDone"));
        assertTrue(ended.body(), ended.body().contains("{\"device\":\"origin:s1\",\"complete\":true,\"error\":null}"));
        assertEquals(404, call(base, "GET", "/snapshots/s1", null, true).status());
        assertTrue("the origin is rolled back", Arrays.equals(before, Files.readAllBytes(origin)));
        assertTrue("the COW store stays", Files.exists(cow));
        Answer status = call(base, "GET", "/status", null, true);
        assertTrue(status.body(), status.body().contains("\"snapshots\":0"));
        assertTrue(status.body(), status.body().contains("\"jobs\":0"));
    }

    /**
     * Found by H23: a zero job and a copy job writing origin:s1 ran at once (a device service has no file
     * claim to stand between them), leaving a mix of both. A second job writing a device a running job
     * writes is refused, naming the running job; once it ended, it runs.
     */
    @Test
    public void aSecondJobWritingADeviceServiceARunningJobWritesIsRefused() throws Exception {
        String base = api();
        byte[] data = new byte[4 << 20];
        new java.util.Random(6).nextBytes(data);
        Path origin = Files.write(dir.resolve("origin.img"), new byte[4 << 20]);
        Path source = Files.write(dir.resolve("source.img"), data);
        Answer created = call(base, "POST", "/snapshots", "{\"name\": \"w1\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + dir.resolve("w1.cow") + "\", \"cowStoreSizeMiB\": 8}", true);
        assertEquals(created.body(), 201, created.status());
        assertEquals(200, call(base, "PUT", "/config", "{\"throttleBytesPerSecond\": 1048576}", true).status());
        try {
            Answer copy = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                    + "\", \"destinations\": [\"origin:w1\"]}", true);
            assertEquals(copy.body(), 202, copy.status());
            String id = field(copy.body(), "id");
            Answer zero = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"origin:w1\"]}", true);
            assertEquals(zero.body(), 409, zero.status());
            assertTrue(zero.body(), zero.body().contains("destination 'origin:w1' is written by job " + id
                    + " (running): one job writes a device at a time"));
            Answer cancelled = call(base, "POST", "/jobs/" + id + "/cancel", null, true);
            assertEquals(cancelled.body(), 200, cancelled.status());
            awaitJob(base, id, "cancelled");
        } finally {
            assertEquals(200, call(base, "PUT", "/config", "{\"throttleBytesPerSecond\": 0}", true).status());
        }
        Answer zero = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"origin:w1\"]}", true);
        assertEquals(zero.body(), 202, zero.status());
        awaitJob(base, field(zero.body(), "id"), "completed");
        assertEquals(200, call(base, "DELETE", "/snapshots/w1", null, true).status());
    }

    /**
     * Found by H24: a job reading a device another job was writing ran and reported "completed" over a
     * mix of old and new data. While a copy runs (throttled), a job reading its destination (a file it
     * created) and a job writing its source are refused, each naming the running job; a second job
     * reading the same source is not (reading twice is harmless); once it ended, both run.
     */
    @Test
    public void aJobReadingADeviceARunningJobWritesOrWritingOneItReadsIsRefused() throws Exception {
        String base = api();
        byte[] data = new byte[4 << 20];
        new java.util.Random(7).nextBytes(data);
        Path source = Files.write(dir.resolve("busy-source.img"), data);
        Path written = dir.resolve("busy-written.img");
        Path other = Files.write(dir.resolve("busy-other.img"), new byte[4 << 20]);
        assertEquals(200, call(base, "PUT", "/config", "{\"throttleBytesPerSecond\": 1048576}", true).status());
        String id;
        String alsoId;
        try {
            Answer copy = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                    + "\", \"destinations\": [\"" + written + "\"]}", true);
            assertEquals(copy.body(), 202, copy.status());
            id = field(copy.body(), "id");
            Answer reading = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + written
                    + "\", \"destinations\": [\"" + other + "\"]}", true);
            assertEquals(reading.body(), 409, reading.status());
            assertTrue(reading.body(), reading.body().contains("source '" + written + "' is written by job " + id
                    + " (running): a job reading it now would copy a mix of old and new data"));
            Answer writing = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"" + source
                    + "\"]}", true);
            assertEquals(writing.body(), 409, writing.status());
            assertTrue(writing.body(), writing.body().contains("destination '" + source + "' is read by job " + id
                    + " (running): writing it now would make that job copy a mix of old and new data"));
            // H32: a read-only export of a file a running job writes served a mix of old and new data.
            Answer export = call(base, "POST", "/exports", "{\"name\": \"busy\", \"device\": \"" + written
                    + "\", \"socket\": \"" + dir.resolve("busy.sock") + "\", \"readOnly\": true}", true);
            assertEquals(export.body(), 409, export.status());
            assertTrue(export.body(), export.body().contains("a read-only export of it would serve a mix of old and new "
                    + "data while it is written"));
            Answer alsoReading = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                    + "\", \"destinations\": [\"" + other + "\"]}", true);
            assertEquals(alsoReading.body(), 202, alsoReading.status());
            alsoId = field(alsoReading.body(), "id");
        } finally {
            assertEquals(200, call(base, "PUT", "/config", "{\"throttleBytesPerSecond\": 0}", true).status());
        }
        awaitJob(base, id, "completed");
        awaitJob(base, alsoId, "completed");
        assertTrue("the first copy holds the source", Arrays.equals(data, Files.readAllBytes(written)));
        Answer reading = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + written
                + "\", \"destinations\": [\"" + other + "\"]}", true);
        assertEquals(reading.body(), 202, reading.status());
        awaitJob(base, field(reading.body(), "id"), "completed");
        Answer writing = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"" + source
                + "\"]}", true);
        assertEquals(writing.body(), 202, writing.status());
        awaitJob(base, field(writing.body(), "id"), "completed");
    }

    /**
     * A zero job of a file that is not whole sectors zeroed the whole sectors, left the last bytes and
     * reported the file zeroed: it is a 400 naming them, and the file is untouched.
     */
    @Test
    public void aZeroJobOfAFileThatIsNotWholeSectorsIsA400AndLeavesItAsItWas() throws Exception {
        String base = api();
        byte[] data = new byte[1000];
        Arrays.fill(data, (byte) 0x5A);
        Path odd = Files.write(dir.resolve("odd.img"), data);
        Answer refused = call(base, "POST", "/jobs", "{\"kind\": \"zero\", \"destinations\": [\"" + odd + "\"]}",
                true);
        assertEquals(refused.body(), 400, refused.status());
        assertTrue(refused.body(), refused.body().contains("has 1000 bytes, not whole sectors of 512: a daemon job "
                + "zeroes whole sectors; zero it with the one-shot zero (without --daemon), which zeroes its last 488 "
                + "bytes too"));
        assertTrue("untouched", Arrays.equals(data, Files.readAllBytes(odd)));
    }

    /**
     * A copy job whose destination takes only whole blocks of 4 KiB (an NBD export of a device with that
     * minimum block) and a source of 9 sectors: the region would be refused by the engine, so the job is
     * a 400 naming the block, before anything starts, and the other destination the job was to create is
     * not left behind.
     */
    @Test
    public void aJobWhoseRegionADestinationsMinimumBlockRefusesIsA400AndCreatesNothing() throws Exception {
        String base = api();
        byte[] data = new byte[9 * 512];
        new java.util.Random(9).nextBytes(data);
        Path source = Files.write(dir.resolve("nine-sectors.img"), data);
        Path created = dir.resolve("would-be-created.img");
        org.kcopyd.api.BlockDevice blocks = new org.kcopyd.testdevices.ForwardingDevice(
                new org.kcopyd.device.MemoryBlockDevice("blocks-of-4k", 16)) {
            @Override
            public int minimumBlockBytes() {
                return 4096;
            }
        };
        Path socket = dir.resolve("blocks.sock");
        try (org.kcopyd.nbd.NbdServer server = org.kcopyd.nbd.NbdServer.builder().export("", blocks, false)
                .startUnix(socket)) {
            String uri = server.uri("").toString();
            Answer refused = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                    + "\", \"destinations\": [\"" + created + "\", \"" + uri + "\"]}", true);
            assertEquals(refused.body(), 400, refused.status());
            assertTrue(refused.body(), refused.body().contains("is not aligned to its minimum block of 4096 bytes"));
            assertFalse("the destination made for the refused job is removed", Files.exists(created));
            assertEquals("{\"jobs\":[]}", call(base, "GET", "/jobs", null, true).body());
            ByteBuffer first = ByteBuffer.allocate(4096);
            blocks.read(0, first).toCompletableFuture().join();
            assertTrue("nothing was written to the export", Arrays.equals(new byte[4096], first.array()));
        }
    }

    /**
     * The merge sets removeWhenMerged in the snapshot's configuration before it starts (so that a merge
     * resumed after a crash removes the snapshot at its end); a merge refused after that, here of an
     * invalid snapshot (its COW store full), sets it back, or the snapshot would remove itself later.
     */
    @Test
    public void aRefusedMergeLeavesTheSnapshotNotMarkedForRemoval() throws Exception {
        String base = api();
        byte[] after = new byte[2 << 20];
        new java.util.Random(5).nextBytes(after);
        Path origin = Files.write(dir.resolve("origin.img"), new byte[2 << 20]);
        Path other = Files.write(dir.resolve("other.img"), after);
        Answer created = call(base, "POST", "/snapshots", "{\"name\": \"full\", \"origin\": \"" + origin
                + "\", \"cowStore\": \"" + dir.resolve("full.cow") + "\", \"chunkSectors\": 16, \"cowStoreSizeMiB\": 1}",
                true);
        assertEquals(created.body(), 201, created.status());
        Answer write = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + other
                + "\", \"destinations\": [\"origin:full\"]}", true);
        awaitJob(base, field(write.body(), "id"), "completed");
        assertEquals("invalid", field(call(base, "GET", "/snapshots/full", null, true).body(), "state"));

        Answer merge = call(base, "POST", "/snapshots/full/merge", null, true);
        assertEquals(merge.body(), 409, merge.status());
        org.osgi.service.cm.Configuration[] found = service(ConfigurationAdmin.class).listConfigurations(
                "(&(service.factoryPid=org.kcopyd.snapshot)(name=full))");
        assertEquals(1, found.length);
        assertTrue(String.valueOf(found[0].getProperties()),
                !Boolean.TRUE.equals(found[0].getProperties().get("removeWhenMerged")));
        // Neither served nor copied: every read of an invalid snapshot fails (found by H23: it was exported).
        Answer export = call(base, "POST", "/exports", "{\"name\": \"full\", \"device\": \"snapshot:full\", "
                + "\"socket\": \"" + dir.resolve("full.sock") + "\", \"readOnly\": true}", true);
        assertEquals(export.body(), 409, export.status());
        assertTrue(export.body(), export.body().contains("snapshot full is invalid ("));
        Answer copy = call(base, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"snapshot:full\", "
                + "\"destinations\": [\"" + dir.resolve("copy.img") + "\"]}", true);
        assertEquals(copy.body(), 409, copy.status());
        assertTrue("nothing made", !Files.exists(dir.resolve("copy.img")));
        assertEquals(200, call(base, "DELETE", "/snapshots/full", null, true).status());
    }

    @Test
    public void aMirrorsResyncIsListedAsAJobThatCannotBeCancelled() throws Exception {
        String base = api();
        byte[] data = new byte[1 << 20];
        new java.util.Random(9).nextBytes(data);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), new byte[1 << 20]);
        // 1 MiB at 64 KiB/s: the resync runs for about 16 s.
        Answer created = call(base, "POST", "/mirrors", "{\"name\": \"m1\", \"legs\": [\"" + a + "\", \"" + b
                + "\"], \"regionLog\": \"" + dir.resolve("m1.log") + "\", \"regionSectors\": 256, "
                + "\"throttleBytesPerSecond\": 65536}", true);
        assertEquals(created.body(), 201, created.status());
        Answer resync = call(base, "GET", "/jobs/resync-m1", null, true);
        assertEquals(resync.body(), 200, resync.status());
        assertEquals("resync", field(resync.body(), "kind"));
        assertEquals("running", field(resync.body(), "state"));
        assertEquals(String.valueOf(1 << 20), field(resync.body(), "bytesTotal"));
        assertTrue(resync.body(), resync.body().contains("\"startedAt\":null"));
        assertTrue(call(base, "GET", "/jobs", null, true).body().contains("{\"id\":\"resync-m1\",\"kind\":\"resync\""));
        assertTrue(call(base, "GET", "/status", null, true).body().contains("\"jobs\":1"));
        Answer cancel = call(base, "POST", "/jobs/resync-m1/cancel", null, true);
        assertEquals(cancel.body(), 409, cancel.status());
        assertTrue(cancel.body(), cancel.body().contains("cannot be cancelled")
                && cancel.body().contains("DELETE /api/v1/mirrors/m1"));
        assertEquals(200, call(base, "DELETE", "/mirrors/m1", null, true).status());
        assertEquals(404, call(base, "GET", "/jobs/resync-m1", null, true).status());
        assertEquals("{\"jobs\":[]}", call(base, "GET", "/jobs", null, true).body());
    }

    /**
     * KcopydControl.awaitConfiguration (what the runtime's --config-dir check asks) over the real
     * Declarative Services: snapshot configurations written straight to Config Admin, as FileInstall
     * writes them. One that makes a new COW store is active only once its component runs with the
     * store's identity it recorded; one with a bad chunk size is a refusal with the component's words;
     * one of a misspelt factory PID is unused at once.
     */
    @Test
    public void configurationsWrittenByOthersAreJudgedAsDeclarativeServicesReportsThem() throws Exception {
        KcopydControl kcopyd = service(KcopydControl.class);
        ConfigurationAdmin cm = service(ConfigurationAdmin.class);
        Path origin = Files.write(dir.resolve("origin.img"), new byte[1 << 20]);
        Configuration good = cm.createFactoryConfiguration(Snapshot.FACTORY_PID, "?");
        good.update(new Hashtable<>(Map.of(Snapshot.CONFIG_NAME, "s1", Snapshot.CONFIG_ORIGIN, origin.toString(),
                Snapshot.CONFIG_COW_STORE, dir.resolve("s1.cow").toString(), Snapshot.CONFIG_COW_STORE_SIZE_MIB, 8)));
        Configuration bad = cm.createFactoryConfiguration(Snapshot.FACTORY_PID, "?");
        bad.update(new Hashtable<>(Map.of(Snapshot.CONFIG_NAME, "s2", Snapshot.CONFIG_ORIGIN, origin.toString(),
                Snapshot.CONFIG_COW_STORE, dir.resolve("s2.cow").toString(), Snapshot.CONFIG_CHUNK_SECTORS, 7)));
        Configuration misspelt = cm.createFactoryConfiguration(Snapshot.FACTORY_PID + "t", "?");
        misspelt.update(new Hashtable<>(Map.of(Snapshot.CONFIG_NAME, "s3")));
        Duration wait = Duration.ofSeconds(KcopydControl.WAIT_SECONDS);

        assertEquals(new ConfigurationOutcome(ConfigurationOutcome.State.ACTIVE, null, false),
                kcopyd.awaitConfiguration(good.getPid(), wait));
        assertTrue("active with the identity it recorded",
                good.getProperties().get(Snapshot.CONFIG_COW_STORE_ID) != null);
        ConfigurationOutcome refused = kcopyd.awaitConfiguration(bad.getPid(), wait);
        assertEquals(refused.toString(), ConfigurationOutcome.State.FAILED, refused.state());
        assertTrue(refused.toString(), refused.refused() && refused.reason().contains("chunkSectors 7")
                && !refused.reason().contains("Exception"));
        // Mended in place, as a configuration file is (FileInstall): the snapshot opens. Felix SCR does not
        // activate a component whose activation failed again; the snapshot component stays active to say a refusal.
        java.util.Dictionary<String, Object> mended = bad.getProperties();
        mended.put(Snapshot.CONFIG_CHUNK_SECTORS, 16);
        bad.update(mended);
        await("snapshot s2 open", () -> "active".equals(kcopyd.snapshot("s2").state()));
        assertEquals(new ConfigurationOutcome(ConfigurationOutcome.State.ACTIVE, null, false),
                kcopyd.awaitConfiguration(bad.getPid(), wait));
        assertEquals(new ConfigurationOutcome(ConfigurationOutcome.State.UNUSED,
                "no component takes configurations of " + Snapshot.FACTORY_PID + "t", false),
                kcopyd.awaitConfiguration(misspelt.getPid(), Duration.ZERO));
    }
}
