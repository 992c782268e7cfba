package org.kcopyd.karaf;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.vmOptions;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.features;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.karaf.options.LogLevelOption;
import org.ops4j.pax.exam.options.MavenArtifactUrlReference;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;

/** The kcopyd features in a real Apache Karaf 4.4. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KarafIT {

    private static final long TIMEOUT_MS = 60_000;

    @Inject
    private BundleContext context;

    @Inject
    private KcopydClientFactory factory;

    @Inject
    private BlockDeviceOpener devices;

    @Inject
    private ConfigurationAdmin configurationAdmin;

    @Configuration
    public Option[] karaf() {
        String karafVersion = System.getProperty("karaf.version");
        MavenArtifactUrlReference karaf = maven().groupId("org.apache.karaf").artifactId("apache-karaf")
                .version(karafVersion).type("tar.gz");
        MavenArtifactUrlReference kcopydFeatures = maven().groupId("org.kcopyd").artifactId("kcopyd.features")
                .version(System.getProperty("kcopyd.version")).classifier("features").type("xml");
        return options(
                karafDistributionConfiguration().frameworkUrl(karaf).unpackDirectory(new File("target/exam"))
                        .useDeployFolder(false),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(),
                logLevel(LogLevelOption.LogLevel.WARN),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository",
                        System.getProperty("maven.repo")),
                features(kcopydFeatures, "kcopyd", "kcopyd-snapshot", "kcopyd-mirror", "kcopyd-shell"),
                // What bin/karaf passes on Java 9+, which Pax Exam does not.
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

    private Object published(String key) {
        ServiceReference<KcopydClientFactory> ref = context.getServiceReference(KcopydClientFactory.class);
        return ref == null ? null : ref.getProperty(key);
    }

    private static void await(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    @Test
    public void theFeaturesInstallAndTheFactoryIsReconfiguredLive() throws Exception {
        assertNotNull(factory);
        assertEquals("the feature's default configuration", "2048", String.valueOf(published("defaultPages")));
        Object serviceId = context.getServiceReference(KcopydClientFactory.class).getProperty("service.id");
        for (String bsn : List.of("kcopyd.api", "kcopyd.device", "kcopyd.impl", "kcopyd.snapshot", "kcopyd.mirror",
                "kcopyd.cli")) {
            assertTrue(bsn + " active", java.util.Arrays.stream(context.getBundles())
                    .anyMatch(b -> bsn.equals(b.getSymbolicName()) && b.getState() == org.osgi.framework.Bundle.ACTIVE));
        }

        org.osgi.service.cm.Configuration config = configurationAdmin.getConfiguration(KcopydClientFactory.PID, null);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("defaultPages", "96");
        props.put("maxQueuedJobs", "512");
        config.update(props);

        await("defaultPages 96", () -> "96".equals(String.valueOf(published("defaultPages"))));
        assertEquals(serviceId, context.getServiceReference(KcopydClientFactory.class).getProperty("service.id"));
        try (KcopydClient client = factory.createClient()) {
            assertEquals(96, client.pages());
        }
    }

    @Test
    public void copiesAFileInsideKaraf() throws Exception {
        Path dir = Files.createTempDirectory("kcopyd-karaf");
        try {
            byte[] data = new byte[4 << 20];
            new Random(3).nextBytes(data);
            Path source = Files.write(dir.resolve("disk.img"), data);
            try (BlockDevice src = devices.open(source);
                    BlockDevice dst = devices.create(dir.resolve("copy.img"), src.sizeInSectors());
                    KcopydClient client = factory.createClient(256)) {
                CopyResult r = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of())
                        .toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                assertTrue(r.toString(), r.isSuccess());
            }
            assertArrayEquals(data, Files.readAllBytes(dir.resolve("copy.img")));
        } finally {
            deleteTree(dir);
        }
    }

    /** Tests leave nothing in the temporary directory. */
    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
