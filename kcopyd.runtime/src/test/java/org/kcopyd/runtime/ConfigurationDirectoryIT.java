package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the runtime jar reads configuration from: only a directory named with
 * {@code --config-dir}, only its {@code *.cfg} and {@code *.config} files, never a jar, never a
 * directory or file others can write; and a configuration not in effect stops the run at once
 * with its reason.
 */
class ConfigurationDirectoryIT {

    @TempDir
    Path dir;

    /**
     * A bundle whose activator, if it ever ran, would create {@code marker}: what a hostile user
     * plants in a directory the runtime might watch.
     */
    private static void plantBundle(Path jar, Path marker) throws IOException {
        // Beside the jar's directory, not in it (that may be the configuration directory), inside the test's own.
        Path src = Files.createDirectories(jar.getParent().resolveSibling("planted-src-" + jar.getParent().getFileName()));
        Path source = Files.createDirectories(src.resolve("planted")).resolve("Activator.java");
        Files.writeString(source, "package planted;\n"
                + "public class Activator implements org.osgi.framework.BundleActivator {\n"
                + "  public void start(org.osgi.framework.BundleContext c) throws Exception {\n"
                + "    java.nio.file.Files.writeString(java.nio.file.Path.of(\"" + marker + "\"), \"ran\");\n"
                + "  }\n"
                + "  public void stop(org.osgi.framework.BundleContext c) { }\n"
                + "}\n");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac.run(null, null, null, "-classpath", System.getProperty("java.class.path"), "-d",
                src.toString(), source.toString())).as("the planted activator compiles").isZero();
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", "planted.bundle");
        main.putValue("Bundle-Version", "1.0.0");
        main.putValue("Bundle-Activator", "planted.Activator");
        main.putValue("Import-Package", "org.osgi.framework");
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file, manifest)) {
            out.putNextEntry(new JarEntry("planted/Activator.class"));
            out.write(Files.readAllBytes(src.resolve("planted/Activator.class")));
            out.closeEntry();
        }
    }

    private Path etc(String... nameAndContent) throws IOException {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        for (int i = 0; i < nameAndContent.length; i += 2) {
            Files.writeString(etc.resolve(nameAndContent[i]), nameAndContent[i + 1]);
        }
        return etc;
    }

    private Path image(String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    @Test
    void withoutTheOptionNothingIsReadFromTheWorkingDirectory() throws Exception {
        Path marker = dir.resolve("planted-ran");
        Path a = image("a.img", 1 << 20, 1);
        Path b = image("b.img", 1 << 20, 2);
        byte[] bBefore = Files.readAllBytes(b);
        etc("org.kcopyd.engine.cfg", "defaultPages = 512\n",
                "org.kcopyd.mirror-x.cfg", "name = x\nregionLog = " + dir.resolve("x.log") + "\nlegs = " + a + "\nlegs = "
                        + b + "\n");
        plantBundle(dir.resolve("etc/planted.jar"), marker);
        Files.createDirectories(dir.resolve("load"));
        plantBundle(dir.resolve("load/planted.jar"), marker);

        KcopydProcess.Run r = KcopydProcess.run(dir, "lb -s\nkcopyd:config\nkcopyd:mirror status\n", List.of());

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("defaultPages = 2048").doesNotContain("planted.bundle")
                .doesNotContain("org.apache.felix.fileinstall").doesNotContain("x  ");
        assertThat(marker).doesNotExist();
        assertThat(Files.readAllBytes(b)).as("a planted mirror configuration wrote nothing").isEqualTo(bBefore);
        assertThat(dir.resolve("x.log")).doesNotExist();
    }

    @Test
    void aNamedDirectoryGivesItsConfigurationFilesAndNeverInstallsAJar() throws Exception {
        Path marker = dir.resolve("planted-ran");
        etc("org.kcopyd.engine.cfg", "defaultPages = 512\nmaxQueuedJobs = 77\n");
        plantBundle(dir.resolve("etc/planted.jar"), marker);

        KcopydProcess.Run r = KcopydProcess.run(dir, "lb -s\nkcopyd:config\n", List.of(), "--config-dir", "etc");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("defaultPages = 512").contains("maxQueuedJobs = 77")
                .contains("org.apache.felix.fileinstall").doesNotContain("planted.bundle");
        assertThat(marker).as("the planted bundle never ran").doesNotExist();
    }

    @Test
    void aDirectoryOthersCanWriteIsRefusedNamingItsMode() throws Exception {
        Path etc = etc("org.kcopyd.engine.cfg", "defaultPages = 512\n");
        Files.setPosixFilePermissions(etc, PosixFilePermissions.fromString("rwxrwxrwx"));

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines()).containsExactly("kcopyd: refusing configuration directory etc: " + etc.toRealPath()
                + " is writable by others (mode 0777); chmod go-w " + etc.toRealPath());
    }

    @Test
    void aConfigurationFileItsGroupCanWriteIsRefused() throws Exception {
        Path etc = etc("org.kcopyd.engine.cfg", "defaultPages = 512\n");
        Path file = etc.resolve("org.kcopyd.engine.cfg");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).singleElement().asString().contains(file.toRealPath().toString())
                .contains("writable by its group (mode 0664)");
    }

    @Test
    void aMissingDirectoryIsRefused() {
        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "nowhere", "config");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).containsExactly("kcopyd: configuration directory nowhere does not exist");
    }

    @Test
    void aRefusedEngineConfigurationStopsTheCommandAtOnceWithTheReason() throws Exception {
        image("src.img", 64 * 1024, 3);
        etc("org.kcopyd.engine.cfg", "defaultPages = 0\n");
        long start = System.nanoTime();

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "copy", "src.img", "dst.img");

        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("no 10 s wait").isLessThan(Duration.ofSeconds(8));
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).containsExactly("kcopyd: " + dir.resolve("etc").toRealPath()
                .resolve("org.kcopyd.engine.cfg") + " was refused: defaultPages 0 is outside the allowed range 1..262144");
        assertThat(dir.resolve("dst.img")).as("the command did not run").doesNotExist();
    }

    @Test
    void aFileOfGarbageIsRefusedWhetherItParsesOrNot() throws Exception {
        Random random = new Random(4);
        byte[] binary = new byte[2048];
        random.nextBytes(binary);
        // Letters, digits, '=', ':' and blanks: garbage that parses into property names.
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=: \t";
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 2048; i++) {
            text.append(i % 40 == 39 ? '\n' : alphabet.charAt(random.nextInt(alphabet.length())));
        }
        Path etc = etc();
        Path file = etc.resolve("org.kcopyd.engine.cfg");

        Files.writeString(file, text);
        KcopydProcess.Run parsed = KcopydProcess.run(dir, "--config-dir", "etc", "config");
        Files.write(file, binary);
        KcopydProcess.Run unparsable = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(parsed.exit()).isEqualTo(2);
        assertThat(parsed.out()).as("the command did not run").isEmpty();
        assertThat(parsed.err().lines()).singleElement().asString().contains(file.toRealPath() + " was refused: "
                + "unknown setting '");
        assertThat(unparsable.exit()).isEqualTo(2);
        assertThat(unparsable.out()).isEmpty();
        assertThat(unparsable.err().lines()).singleElement().asString().contains(file.toRealPath().toString())
                .containsPattern("was refused: unknown setting '|was not applied: it could not be read as a .cfg");
    }

    /**
     * H39 finding 10: a number that is no number in a snapshot's configuration file was reported in
     * Declarative Services' words ({@code java.lang.NumberFormatException: For input string: "abc"},
     * exit 1), so was an export's; each names the property and what it takes, as a bad value (exit 2).
     */
    @Test
    void aNumberThatIsNoNumberIsRefusedNamingTheProperty() throws Exception {
        image("origin.img", 1 << 20, 6);
        etc("org.kcopyd.snapshot-s1.cfg", "name = s1\norigin = " + dir.resolve("origin.img") + "\ncowStore = "
                + dir.resolve("s1.cow") + "\nchunkSectors = abc\n", "org.kcopyd.nbd.export-x.cfg", "name = x\ndevice = "
                + dir.resolve("origin.img") + "\nsocket = " + dir.resolve("x.sock") + "\nmaxConnections = lots\n");

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(r.exit()).isEqualTo(2);
        // The snapshot component's log record of its refusal, and the check's verdict on each file.
        assertThat(r.err().lines()).hasSize(3).anySatisfy(l -> assertThat(l).startsWith("kcopyd: SEVERE snapshot 's1': "
                + "not opened: chunkSectors 'abc' is not a whole number"))
                .anySatisfy(l -> assertThat(l).contains("org.kcopyd.snapshot-s1.cfg was "
                + "not applied: snapshot 's1': chunkSectors 'abc' is not a whole number from -2147483648 to 2147483647"))
                .anySatisfy(l -> assertThat(l).contains("org.kcopyd.nbd.export-x.cfg was not applied: "
                + "org.kcopyd.nbd.export: maxConnections 'lots' is not a whole number"));
        assertThat(dir.resolve("s1.cow")).doesNotExist();
        assertThat(dir.resolve("x.sock")).doesNotExist();
    }

    @Test
    void aMisspeltConfigurationNameIsReported() throws Exception {
        etc("org.kcopyd.engin.cfg", "defaultPages = 512\n");

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("configures org.kcopyd.engin, which no component of this runtime uses");
    }

    @Test
    void aDaemonCommandWithAConfigurationDirectoryIsRefusedBeforeAnythingRuns() throws Exception {
        image("origin.img", 1 << 20, 5);
        etc("org.kcopyd.engine.cfg", "defaultPages = 512\n");

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "snapshot", "create", "s1", "origin.img",
                "s1.cow");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip()).isEqualTo("kcopyd: --config-dir is for one-shot commands and the shell; snapshot "
                + "goes to the daemon: kcopyd snapshot ... --state DIR");
        assertThat(dir.resolve("s1.cow")).doesNotExist();
    }

    @Test
    void aSnapshotConfigurationThatFailsIsReportedWithItsReason() throws Exception {
        image("origin.img", 1 << 20, 5);
        etc("org.kcopyd.snapshot-s1.cfg", "name = s1\norigin = " + dir.resolve("origin.img") + "\ncowStore = "
                + dir.resolve("s1.cow") + "\nchunkSectors = 7\n");

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        // The snapshot component's log record of its refusal, and the check's verdict.
        assertThat(r.err().lines()).hasSize(2).anySatisfy(l -> assertThat(l).startsWith("kcopyd: SEVERE snapshot 's1': "
                + "not opened: chunkSectors 7")).anySatisfy(l -> assertThat(l).contains("org.kcopyd.snapshot-s1.cfg was "
                + "not applied: ").contains("chunkSectors 7").doesNotContain("Exception"));
    }

    @Test
    void theShellShowsWhyAnEditedConfigurationIsRefusedAndKeepsTheLastValidOne() throws Exception {
        Path etc = etc("org.kcopyd.engine.cfg", "maxQueuedJobs = 100\n");
        Process p = new ProcessBuilder(KcopydProcess.command(List.of(), List.of("--config-dir", "etc")))
                .directory(dir.toFile()).redirectErrorStream(true).start();
        try (var shell = new java.io.PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
                var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
            assertThat(ask(shell, out, "kcopyd:config")).contains("maxQueuedJobs = 100");

            Files.writeString(etc.resolve("org.kcopyd.engine.cfg"), "maxQueuedJobs = 250\nioThreadz = 8\n");

            // FileInstall polls every second: ask until the refusal shows, for up to 30 s.
            String seen = "";
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!seen.contains("was refused") && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
                seen = ask(shell, out, "kcopyd:config");
            }
            assertThat(seen).contains("unknown setting 'ioThreadz'").contains("the values above are the last valid")
                    .contains("maxQueuedJobs = 100");
            shell.println("exit 0");
        } finally {
            p.getOutputStream().close();
            assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
    }

    /** Sends one shell command and returns everything it printed (standard output and error). */
    private static String ask(java.io.PrintWriter shell, java.io.BufferedReader out, String command)
            throws IOException {
        shell.println(command);
        shell.println("echo @@done");
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.contains("@@done")) {
            seen.append(line).append('\n');
        }
        return seen.toString();
    }
}
