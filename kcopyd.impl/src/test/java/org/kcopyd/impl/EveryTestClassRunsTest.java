package org.kcopyd.impl;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build's guard against tests that never run (CopyProperties did not match Surefire's
 * includes and so never ran in any build): every class under any module's {@code src/test}
 * with test methods must be one that Surefire ({@code *Test}, set in the parent pom) or, in a
 * module with the Failsafe plugin, Failsafe ({@code *IT}) executes. Abstract classes are left
 * out: their tests run through their subclasses. It lives in kcopyd.impl, an early module of
 * the reactor, and reads the sources of all of them; see TESTING.md.
 */
class EveryTestClassRunsTest {

    /** Annotations that make test methods: JUnit 5's, JUnit 4's {@code @Test}, property-test libraries'. */
    private static final Pattern TEST_METHOD = Pattern.compile(
            "^\\s*@(Test|RepeatedTest|ParameterizedTest|TestFactory|TestTemplate|Property)\\b", Pattern.MULTILINE);
    private static final Pattern ABSTRACT = Pattern.compile("^\\s*(public\\s+)?abstract\\s+class\\s", Pattern.MULTILINE);
    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    private static final Pattern TEST_PLUGIN = Pattern.compile(
            "<plugin>(?:(?!</plugin>).)*maven-(surefire|failsafe)-plugin(?:(?!</plugin>).)*</plugin>", Pattern.DOTALL);
    static final String SUREFIRE_INCLUDE = "<include>**/*Test.java</include>";

    /**
     * @param root a reactor's root directory
     * @return a line for every test class that Surefire and Failsafe would not run, and for every
     *         pom setting that this check does not understand
     */
    static List<String> notExecuted(Path root) throws IOException {
        List<String> problems = new ArrayList<>();
        String parent = Files.readString(root.resolve("pom.xml"));
        if (!parent.contains(SUREFIRE_INCLUDE)) {
            problems.add("the parent pom does not configure Surefire's include " + SUREFIRE_INCLUDE
                    + ", which this check assumes");
        }
        Matcher modules = MODULE.matcher(parent);
        while (modules.find()) {
            Path module = root.resolve(modules.group(1).trim());
            String pom = Files.readString(module.resolve("pom.xml"));
            Matcher plugin = TEST_PLUGIN.matcher(pom);
            boolean failsafe = false;
            while (plugin.find()) {
                failsafe |= plugin.group(1).equals("failsafe");
                if (plugin.group().matches("(?s).*<(includes|excludes|test|skip|skipTests)>.*")) {
                    problems.add(module.getFileName() + "/pom.xml gives the " + plugin.group(1)
                            + " plugin its own includes, excludes or skips; teach EveryTestClassRunsTest about them");
                }
            }
            Path tests = module.resolve("src/test/java");
            if (!Files.isDirectory(tests)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(tests)) {
                for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java")).sorted()::iterator) {
                    String name = file.getFileName().toString().replace(".java", "");
                    boolean runs = name.endsWith("Test") || failsafe && name.endsWith("IT");
                    if (!runs && isConcreteTestClass(file)) {
                        problems.add(root.relativize(file) + " has test methods but Surefire runs only *Test"
                                + (failsafe ? " and Failsafe only *IT" : " (this module has no Failsafe)")
                                + ": rename it");
                    }
                }
            }
        }
        return problems;
    }

    private static boolean isConcreteTestClass(Path file) {
        try {
            String source = Files.readString(file);
            return TEST_METHOD.matcher(source).find() && !ABSTRACT.matcher(source).find();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The reactor root: as Maven passes it, else the nearest directory above with a pom listing modules. */
    private static Path reactorRoot() throws IOException {
        String given = System.getProperty("kcopyd.root");
        if (given != null && !given.isBlank()) {
            return Path.of(given);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path pom = dir.resolve("pom.xml");
            if (Files.isRegularFile(pom) && Files.readString(pom).contains("<modules>")) {
                return dir;
            }
        }
        throw new IllegalStateException("no reactor root above " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyTestClassOfEveryModuleIsRunBySurefireOrFailsafe() throws IOException {
        Path root = reactorRoot();

        List<String> problems = notExecuted(root);

        assertThat(root.resolve("kcopyd.impl/src/test/java/org/kcopyd/impl/EveryTestClassRunsTest.java"))
                .as("the reactor root found").exists();
        assertThat(problems).as("test classes that no build would run").isEmpty();
    }

    @Test
    void findsAMisnamedTestClassAndOneThatOnlyFailsafeWouldRun(@TempDir Path root) throws IOException {
        Files.writeString(root.resolve("pom.xml"), "<project><build><pluginManagement><plugins><plugin>"
                + "<artifactId>maven-surefire-plugin</artifactId><configuration><includes>" + SUREFIRE_INCLUDE
                + "</includes></configuration></plugin></plugins></pluginManagement></build>"
                + "<modules><module>a</module><module>b</module></modules></project>");
        Path a = Files.createDirectories(root.resolve("a/src/test/java/x"));
        Path b = Files.createDirectories(root.resolve("b/src/test/java/x"));
        Files.writeString(root.resolve("a/pom.xml"), "<project/>");
        Files.writeString(root.resolve("b/pom.xml"),
                "<project><build><plugins><plugin><artifactId>maven-failsafe-plugin</artifactId></plugin>"
                + "</plugins></build></project>");
        String testMethod = "class C {\n    @Test\n    void t() {\n    }\n}\n";
        Files.writeString(a.resolve("CopyProperties.java"), "class CopyProperties {\n    @Property\n    void p() {}\n}\n");
        Files.writeString(a.resolve("GoodTest.java"), testMethod);
        Files.writeString(a.resolve("ServerIT.java"), testMethod);
        Files.writeString(a.resolve("Checks.java"), "class Checks {\n    @ParameterizedTest\n    void p(int i) {}\n}\n");
        Files.writeString(a.resolve("Fixture.java"), "/** Not a test: mentions\n * @Test in a comment only. */\n");
        Files.writeString(a.resolve("Support.java"), "public abstract class Support {\n    @Test\n    void t() {}\n}\n");
        Files.writeString(b.resolve("ServerIT.java"), testMethod);
        Files.writeString(b.resolve("Helper.java"), "class Helper {\n    @RepeatedTest(3)\n    void r() {}\n}\n");

        List<String> problems = notExecuted(root);

        assertThat(problems).hasSize(4);
        assertThat(problems.get(0)).isEqualTo("a/src/test/java/x/Checks.java has test methods but Surefire runs only"
                + " *Test (this module has no Failsafe): rename it");
        assertThat(String.join("\n", problems)).contains("a/src/test/java/x/CopyProperties.java",
                "a/src/test/java/x/ServerIT.java", "b/src/test/java/x/Helper.java has test methods but Surefire runs"
                + " only *Test and Failsafe only *IT").doesNotContain("GoodTest", "Fixture", "Support",
                "b/src/test/java/x/ServerIT");
    }

    @Test
    void refusesToGuessWhenAModuleConfiguresItsOwnIncludes(@TempDir Path root) throws IOException {
        Files.writeString(root.resolve("pom.xml"), "<project><modules><module>a</module></modules></project>");
        Files.createDirectories(root.resolve("a"));
        Files.writeString(root.resolve("a/pom.xml"), "<project><build><plugins><plugin>"
                + "<artifactId>maven-surefire-plugin</artifactId><configuration><excludes><exclude>**/Slow*</exclude>"
                + "</excludes></configuration></plugin></plugins></build></project>");

        List<String> problems = notExecuted(root);

        assertThat(problems).containsExactly(
                "the parent pom does not configure Surefire's include " + SUREFIRE_INCLUDE + ", which this check assumes",
                "a/pom.xml gives the surefire plugin its own includes, excludes or skips;"
                        + " teach EveryTestClassRunsTest about them");
    }
}
