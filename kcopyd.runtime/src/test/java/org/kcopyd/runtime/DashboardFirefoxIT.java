package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.runtime.MarionetteClient.MarionetteException;
import org.kcopyd.testdevices.Peers;

/**
 * The dashboard (issue 12: "works in current Chromium and Firefox") in Debian's {@code firefox-esr},
 * headless, driven through its built-in Marionette protocol ({@link MarionetteClient}; Debian has no
 * geckodriver and nothing is downloaded), against a real daemon process: the page opened at the
 * address {@code kcopyd status} prints loads its data, shows each of the engine's effective settings
 * with the value the API gives and drops the token from the address bar; a throttled copy started
 * through the API gets a progress bar that grows; its Cancel button, clicked and confirmed in the
 * browser's dialog, ends it cancelled with its destination incomplete. Screenshots go to {@code
 * target/dashboard-screenshots/firefox-*.png}. Without firefox-esr the test is skipped naming the
 * package (a failure with {@code -Dkcopyd.peers.required=true}, as CI runs). The browser and its
 * profile are removed at the end whatever happens. {@link DashboardIT} covers the rest of the page in
 * chromium.
 */
class DashboardFirefoxIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");
    private static final String ATTRIBUTE =
            "var e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;";
    private static final String TEXT = "var e = document.querySelector(arguments[0]); return e ? e.textContent : null;";

    @TempDir
    Path dir;

    private RunningDaemon daemon;
    private HeadlessFirefox firefox;
    private MarionetteClient page;

    @BeforeEach
    void start() throws IOException {
        Path executable = Peers.require("firefox-esr", "firefox-esr");
        Path state = dir.resolve("state");
        Files.createDirectory(state, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        daemon = RunningDaemon.start(dir, state, "firefox");
        firefox = HeadlessFirefox.start(executable, dir.resolve("firefox"), WAIT);
        page = firefox.marionette();
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        try {
            if (firefox != null) {
                firefox.close();
                assertThat(firefox.root()).as("Firefox's profile and home removed").doesNotExist();
            }
        } finally {
            if (daemon != null) {
                assertThat(daemon.sigterm()).as("the daemon's exit code at SIGTERM; errors: %s", daemon.errors())
                        .isZero();
            }
        }
    }

    @Test
    void theDashboardLoadsShowsSettingsAndCancelsAGrowingCopy() throws IOException {
        Matcher m = Pattern.compile("(?m)^dashboard (http://127\\.0\\.0\\.1:\\d+/kcopyd/#token=[0-9a-f]{64})$")
                .matcher(RunningDaemon.clientOk(dir, daemon.state(), "status").out());
        assertThat(m.find()).as("kcopyd status prints the dashboard's address").isTrue();
        String address = m.group(1);
        RunningDaemon.clientOk(dir, daemon.state(), "config", "set", "throttleBytesPerSecond=4194304");

        String version = page.newSession();
        page.windowSize(1400, 1600);
        page.navigate(address);
        onPage().until(() -> !read(ATTRIBUTE, "#kcopyd", "data-updated").isJsonNull());
        assertThat(page.currentUrl()).as("Firefox %s: the token leaves the address bar", version)
                .isEqualTo(address.substring(0, address.indexOf('#'))).doesNotContain("token");
        assertThat(read(TEXT, "[data-setting=throttleBytesPerSecond]", null).getAsString()).isEqualTo("4194304");
        DaemonApi api = new DaemonApi(daemon.state());
        JsonObject settings = api.get("/api/v1/config").getAsJsonObject("configuration");
        assertThat(settings.keySet()).as("the engine's effective settings").isNotEmpty();
        for (String key : settings.keySet()) {
            assertThat(stringOrNull(read(TEXT, "[data-setting=" + key + "]", null))).as("the setting %s shown", key)
                    .isEqualTo(settings.get(key).getAsString());
        }

        // A copy at 4 MiB/s of 48 MiB, started through the API: its bar grows.
        Path source = dir.resolve("source.img");
        Path target = dir.resolve("target.img");
        writeRandom(source, 48 << 20);
        JsonObject job = api.call("POST", "/api/v1/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                + "\", \"destinations\": [\"" + target + "\"]}", 202);
        String id = job.get("id").getAsString();
        String row = "tr[data-job='" + id + "']";
        String bar = row + " [data-test=job-progress]";
        onPage().until(() -> fraction(bar) > 0);
        double first = fraction(bar);
        onPage().until(() -> fraction(bar) > first + 0.02);
        screenshot("firefox-copy-running");

        // Cancel through the page: a click, the browser's confirm dialog accepted; the job ends cancelled.
        String cancel = row + " button[data-action=cancel]";
        onPage().until(() -> clicked(cancel));
        onPage().until(() -> page.dialogText().isPresent());
        assertThat(page.dialogText()).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("Cancel job " + id);
        page.acceptDialog();
        onPage().until(() -> "cancelled".equals(stringOrNull(read(ATTRIBUTE, row, "data-state"))));
        assertThat(api.get("/api/v1/jobs/" + id).get("state").getAsString()).as("the daemon's view of job %s", id)
                .isEqualTo("cancelled");
        String destination = row + " li[data-destination]";
        assertThat(read(ATTRIBUTE, destination, "data-complete").getAsString()).isEqualTo("false");
        assertThat(read(TEXT, destination, null).getAsString()).contains(target.toString(), "incomplete");
        assertThat(fraction(bar)).isGreaterThan(first).isLessThan(1.0);
        screenshot("firefox-copy-cancelled");
    }

    /**
     * Reads from the page in one script (the dashboard redraws its tables every second, so an element
     * found by one command may be gone at the next; one script sees one state).
     */
    private JsonElement read(String script, String selector, String attribute) {
        return attribute == null ? page.script(script, selector) : page.script(script, selector, attribute);
    }

    /** @return the bar's data-fraction, or -1 while the bar is not on the page */
    private double fraction(String bar) {
        JsonElement value = read(ATTRIBUTE, bar, "data-fraction");
        return value.isJsonNull() ? -1 : Double.parseDouble(value.getAsString());
    }

    /** Clicks the element; false when it is not there yet or was redrawn between finding and clicking. */
    private boolean clicked(String selector) {
        try {
            page.click(page.findElement(selector));
            return true;
        } catch (MarionetteException e) {
            if (e.code().equals("no such element") || e.code().equals("stale element reference")) {
                return false;
            }
            throw e;
        }
    }

    private static String stringOrNull(JsonElement e) {
        return e.isJsonNull() ? null : e.getAsString();
    }

    private static ConditionFactory onPage() {
        return await().atMost(WAIT).pollInterval(Duration.ofMillis(100));
    }

    private void screenshot(String name) throws IOException {
        byte[] png = page.screenshot();
        assertThat(png).as("a PNG image").startsWith(0x89, 'P', 'N', 'G');
        Files.write(SCREENSHOTS.resolve(name + ".png"), png);
    }

    private static void writeRandom(Path file, int size) throws IOException {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Files.write(file, data);
    }
}
