package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.Peers;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The dashboard (issue 12) in a real browser: Debian's chromium driven by Selenium through
 * {@code /usr/bin/chromedriver} (given explicitly: nothing is downloaded), against a real daemon
 * process. The page is opened at the address {@code kcopyd status} prints; a throttled copy's progress
 * bar advances and its Cancel (confirmed) ends it cancelled with its destination incomplete; a
 * snapshot created through the page's form shows its COW bar move when its origin's NBD export is
 * written by qemu-io; a mirror leg on an nbdkit export whose writes all fail (the error filter) is
 * shown failed with its reason. Screenshots go to {@code target/dashboard-screenshots/}. Without
 * chromium or chromedriver the test is skipped naming the package (a failure with
 * {@code -Dkcopyd.peers.required=true}, as CI runs).
 */
class DashboardIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");

    @TempDir
    Path dir;

    private Process daemon;
    private Path state;
    private WebDriver browser;
    private final List<Process> peers = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        Peers.require("chromium", "chromium");
        Path driver = Peers.require("chromedriver", "chromium-driver");
        state = dir.resolve("state");
        Files.createDirectory(state, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        daemon = new ProcessBuilder(KcopydProcess.command(List.of(), List.of("daemon", "--state", state.toString())))
                .directory(dir.toFile()).redirectOutput(dir.resolve("daemon.out").toFile())
                .redirectError(dir.resolve("daemon.err").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            assertThat(daemon.isAlive()).as("daemon runs; errors: %s", read(dir.resolve("daemon.err"))).isTrue();
            assertThat(state.resolve("control.json")).exists();
            assertThat(read(state.resolve("control.json"))).contains("\"pid\": " + daemon.pid());
        });
        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/bin/chromium");
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1600");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (browser != null) {
            browser.quit();
        }
        for (Process p : peers) {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        if (daemon != null) {
            daemon.destroy();
            if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
                daemon.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aCopyAdvancesAndIsCancelledASnapshotFillsAndAFailedLegShowsItsReason() throws Exception {
        KcopydProcess.Run status = KcopydProcess.run(dir, "status", "--state", state.toString());
        assertThat(status.exit()).as(status.err()).isZero();
        Matcher m = Pattern.compile("(?m)^dashboard (http://127\\.0\\.0\\.1:\\d+/kcopyd/#token=[0-9a-f]{64})$")
                .matcher(status.out());
        assertThat(m.find()).as("kcopyd status prints the dashboard's address: %s", status.out()).isTrue();
        String address = m.group(1);
        String token = address.substring(address.indexOf("#token=") + 7);
        String base = address.substring(0, address.indexOf("/kcopyd/"));
        assertThat(KcopydProcess.run(dir, "config", "set", "throttleBytesPerSecond=4194304", "--state",
                state.toString()).exit()).isZero();

        browser.get(address);
        onPage().until(() -> browser.findElement(By.id("kcopyd")).getAttribute("data-updated") != null);
        assertThat(browser.getCurrentUrl()).as("the token leaves the address bar").doesNotContain("token");
        assertThat(browser.findElement(By.cssSelector("[data-setting=throttleBytesPerSecond]")).getText())
                .isEqualTo("4194304");

        // A copy at 4 MiB/s of 48 MiB: its bar advances, then Cancel (confirmed) ends it cancelled, incomplete.
        Path source = dir.resolve("source.img");
        Path target = dir.resolve("target.img");
        writeRandom(source, 48 << 20);
        JsonObject job = api(base, token, "POST", "/jobs", "{\"kind\": \"copy\", \"source\": \"" + source
                + "\", \"destinations\": [\"" + target + "\"]}");
        String id = job.get("id").getAsString();
        By bar = By.cssSelector("tr[data-job='" + id + "'] [data-test=job-progress]");
        onPage().until(() -> fraction(bar) > 0);
        double first = fraction(bar);
        onPage().until(() -> fraction(bar) > first + 0.02);
        screenshot("copy-running");
        fresh(() -> {
            browser.findElement(By.cssSelector("tr[data-job='" + id + "'] button[data-action=cancel]")).click();
            return null;
        });
        acceptAlert();
        By row = By.cssSelector("tr[data-job='" + id + "']");
        onPage().until(() -> "cancelled".equals(browser.findElement(row).getAttribute("data-state")));
        By destination = By.cssSelector("tr[data-job='" + id + "'] li[data-destination]");
        assertThat(fresh(() -> browser.findElement(destination).getAttribute("data-complete"))).isEqualTo("false");
        assertThat(fresh(() -> browser.findElement(destination).getText())).contains(target.toString(), "incomplete");
        assertThat(fraction(bar)).isLessThan(1.0);
        screenshot("copy-cancelled");
        assertThat(KcopydProcess.run(dir, "config", "set", "throttleBytesPerSecond=0", "--state",
                state.toString()).exit()).isZero();

        // A snapshot made through the form; its origin exported and written by qemu-io: the COW bar moves.
        Path qemuIo = Peers.require("qemu-io", "qemu-utils");
        Path origin = dir.resolve("origin.img");
        writeRandom(origin, 16 << 20);
        WebElement form = browser.findElement(By.id("kc-snapshot-form"));
        form.findElement(By.name("name")).sendKeys("s1");
        form.findElement(By.name("origin")).sendKeys(origin.toString());
        form.findElement(By.name("cowStore")).sendKeys(dir.resolve("s1.cow").toString());
        form.findElement(By.name("chunkSectors")).sendKeys("16");
        form.findElement(By.cssSelector("button[type=submit]")).click();
        By cow = By.cssSelector("tr[data-snapshot=s1] [data-test=cow-use]");
        onPage().until(() -> !browser.findElements(cow).isEmpty());
        // The row shows as soon as the snapshot is configured ("waiting"), then active once it is open.
        onPage().until(() -> "active".equals(fresh(() -> browser.findElement(By.cssSelector("tr[data-snapshot=s1]"))
                .getAttribute("data-state"))));
        double before = fraction(cow);
        Path socket = dir.resolve("vm.sock");
        api(base, token, "POST", "/exports", "{\"name\": \"vm\", \"device\": \"origin:s1\", \"socket\": \"" + socket
                + "\"}");
        Process write = new ProcessBuilder(qemuIo.toString(), "-f", "raw", "-c", "write -P 0xab 0 4M",
                "nbd+unix:///vm?socket=" + socket).redirectErrorStream(true).start();
        String written = new String(write.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(write.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(write.exitValue()).as(written).isZero();
        onPage().until(() -> fraction(cow) > before);
        assertThat(fresh(() -> browser.findElement(By.cssSelector("tr[data-export=vm]")).getText()))
                .contains("origin:s1");
        screenshot("snapshot-cow");

        // A mirror whose second leg is an nbdkit export failing every write: the leg is failed, with its reason.
        Path nbdkit = Peers.require("nbdkit", "nbdkit");
        Path legSocket = dir.resolve("leg.sock");
        Process server = new ProcessBuilder(nbdkit.toString(), "--foreground", "--exit-with-parent", "-U",
                legSocket.toString(), "--filter=error", "memory", "size=8M", "error=EIO", "error-pwrite-rate=1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("nbdkit.out").toFile()).start();
        peers.add(server);
        onPage().until(() -> Files.exists(legSocket));
        Path leg0 = dir.resolve("leg0.img");
        writeRandom(leg0, 8 << 20);
        api(base, token, "POST", "/mirrors", "{\"name\": \"m1\", \"legs\": [\"" + leg0 + "\", \"nbd+unix:///?socket="
                + legSocket + "\"], \"regionLog\": \"" + dir.resolve("m1.log") + "\"}");
        By failedLeg = By.cssSelector("tr[data-mirror=m1] li[data-leg='1'][data-state=failed]");
        onPage().until(() -> !browser.findElements(failedLeg).isEmpty());
        assertThat(fresh(() -> browser.findElement(failedLeg).findElement(By.cssSelector("[data-test=leg-failure]"))
                .getText())).isNotBlank();
        assertThat(fresh(() -> browser.findElement(failedLeg)
                .findElement(By.cssSelector("button[data-action=replace-leg]")).isDisplayed())).isTrue();
        assertThat(fresh(() -> browser.findElements(By.cssSelector("tr[data-mirror=m1] button[data-action=resync-leg]"))))
                .as("leg 0 is m1's only leg in sync: nothing to resync it from").isEmpty();
        screenshot("mirror-failed-leg");

        // H45 F4: a leg in sync whose data is doubted (written in its middle, outside the mirror) is resynced
        // fully from the other, confirmed.
        Path a = dir.resolve("m2a.img");
        Path b = dir.resolve("m2b.img");
        writeRandom(a, 4 << 20);
        Files.copy(a, b);
        api(base, token, "POST", "/mirrors", "{\"name\": \"m2\", \"legs\": [\"" + a + "\", \"" + b
                + "\"], \"regionLog\": \"" + dir.resolve("m2.log") + "\"}");
        By resyncLeg1 = By.cssSelector("tr[data-mirror=m2][data-state=active] li[data-leg='1'][data-state=in-sync] "
                + "button[data-action=resync-leg]");
        onPage().until(() -> !browser.findElements(resyncLeg1).isEmpty());
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(b,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), 2 << 20);
        }
        fresh(() -> {
            browser.findElement(resyncLeg1).click();
            return null;
        });
        acceptAlert();
        onPage().until(() -> "Resync leg 1 of m2: done".equals(browser.findElement(By.id("kc-notice")).getText()));
        onPage().until(() -> Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b)));
    }

    private double fraction(By bar) {
        return fresh(() -> {
            List<WebElement> found = browser.findElements(bar);
            return found.isEmpty() ? -1 : Double.parseDouble(found.get(0).getAttribute("data-fraction"));
        });
    }

    /** Accepts the confirmation the page asks for, once it shows. */
    private void acceptAlert() {
        onPage().until(() -> {
            try {
                browser.switchTo().alert().accept();
                return true;
            } catch (org.openqa.selenium.NoAlertPresentException notYet) {
                return false;
            }
        });
    }

    /** Awaits a condition on the page, which may re-render (detaching found elements) while it is read. */
    private static org.awaitility.core.ConditionFactory onPage() {
        return await().atMost(WAIT).ignoreException(StaleElementReferenceException.class);
    }

    /**
     * Reads the page again when it was re-rendered between finding an element and using it: the
     * dashboard redraws its tables at every poll (each second), which detaches the elements found before.
     */
    private static <T> T fresh(java.util.function.Supplier<T> read) {
        for (int attempt = 1;; attempt++) {
            try {
                return read.get();
            } catch (StaleElementReferenceException e) {
                if (attempt == 20) {
                    throw e;
                }
            }
        }
    }

    private void screenshot(String name) throws IOException {
        Path png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(png, SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    private static JsonObject api(String base, String token, String method, String path, String body)
            throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/api/v1" + path))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body)).timeout(WAIT).build();
        HttpResponse<String> r = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("%s %s: %s", method, path, r.body()).isBetween(200, 299);
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private static void writeRandom(Path file, int size) throws IOException {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Files.write(file, data);
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
