package org.kcopyd.cli.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

import picocli.CommandLine;

import org.kcopyd.device.FileErrors;

/**
 * {@code --version}: the version of the kcopyd.cli bundle, from the framework inside OSGi, else
 * from the {@code Bundle-Version} of the jar (or classes directory) this class was loaded from.
 */
final class BundleVersion implements CommandLine.IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {"kcopyd " + version()};
    }

    static String version() {
        Bundle bundle = FrameworkUtil.getBundle(BundleVersion.class);
        if (bundle != null) {
            return bundle.getVersion().toString();
        }
        try {
            Path location = Path.of(BundleVersion.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Manifest manifest = manifest(location);
            String version = manifest == null ? null : manifest.getMainAttributes().getValue("Bundle-Version");
            return version != null ? version : "(unknown version: no Bundle-Version in " + location + ")";
        } catch (IOException | URISyntaxException | RuntimeException e) {
            return "(unknown version: " + FileErrors.reason(e) + ")";
        }
    }

    private static Manifest manifest(Path location) throws IOException {
        if (Files.isDirectory(location)) {
            Path file = location.resolve("META-INF/MANIFEST.MF");
            if (!Files.isRegularFile(file)) {
                return null;
            }
            try (InputStream in = Files.newInputStream(file)) {
                return new Manifest(in);
            }
        }
        try (JarFile jar = new JarFile(location.toFile())) {
            return jar.getManifest();
        }
    }
}
