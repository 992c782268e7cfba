package org.kcopyd.daemon.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Vector;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigurationFilesTest {

    @TempDir
    Path dir;

    private static Hashtable<String, Object> configuration(String pid) {
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put("service.pid", pid);
        return properties;
    }

    @Test
    void everyValueTypeSurvivesAStoreAndARestart() throws IOException {
        Hashtable<String, Object> stored = configuration("org.kcopyd.engine");
        stored.put("aString", "text with \"quotes\", = and \u00e9");
        stored.put("anInteger", 42);
        stored.put("aLong", 1L << 40);
        stored.put("aFloat", 1.5f);
        stored.put("aDouble", 2.25d);
        stored.put("aByte", (byte) 7);
        stored.put("aShort", (short) 300);
        stored.put("aCharacter", 'x');
        stored.put("aBoolean", Boolean.TRUE);
        stored.put("strings", new String[] {"a", "b,c"});
        stored.put("longs", new Long[] {1L, 2L});
        stored.put("ints", new int[] {3, 4});
        stored.put("booleans", new boolean[] {true, false});
        stored.put("vector", new Vector<>(List.of("x", "y")));
        ConfigurationFiles.open(dir).store("org.kcopyd.engine", stored);

        ConfigurationFiles reopened = ConfigurationFiles.open(dir);
        assertThat(reopened.exists("org.kcopyd.engine")).isTrue();
        Dictionary<?, ?> loaded = reopened.load("org.kcopyd.engine");
        for (String key : Collections.list(stored.keys())) {
            Object value = loaded.get(key);
            Object expected = stored.get(key);
            if (expected.getClass().isArray()) {
                assertThat(value).as(key).isInstanceOf(expected.getClass());
                assertThat(value).as(key).usingRecursiveComparison().isEqualTo(expected);
            } else if (expected instanceof Vector<?> vector) {
                assertThat(value).as(key).isInstanceOf(java.util.Collection.class);
                assertThat(new ArrayList<>((java.util.Collection<?>) value)).as(key).isEqualTo(new ArrayList<>(vector));
            } else {
                assertThat(value).as(key).isEqualTo(expected).isInstanceOf(expected.getClass());
            }
        }
        assertThat(Collections.list(loaded.keys())).hasSameSizeAs(Collections.list(stored.keys()));
    }

    @Test
    void factoryPidsGetSafeFileNamesAndAreListed() throws IOException {
        ConfigurationFiles files = ConfigurationFiles.open(dir);
        String pid = "org.kcopyd.nbd.export~vm/../x";
        Hashtable<String, Object> stored = configuration(pid);
        stored.put("service.factoryPid", "org.kcopyd.nbd.export");
        files.store(pid, stored);
        files.store("org.kcopyd.engine", configuration("org.kcopyd.engine"));

        assertThat(files.file(pid).getFileName().toString()).isEqualTo("org.kcopyd.nbd.export%7Evm%2F..%2Fx.config");
        assertThat(files.file(".hidden").getFileName().toString()).isEqualTo("%2Ehidden.config");
        try (var entries = Files.list(dir)) {
            assertThat(entries.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    "org.kcopyd.nbd.export%7Evm%2F..%2Fx.config", "org.kcopyd.engine.config");
        }
        List<Object> pids = new ArrayList<>();
        Collections.list(ConfigurationFiles.open(dir).getDictionaries())
                .forEach(d -> pids.add(((Dictionary<?, ?>) d).get("service.pid")));
        assertThat(pids).containsExactlyInAnyOrder(pid, "org.kcopyd.engine");
    }

    @Test
    void filesAreOwnerOnlyAndDeletesRemoveThem() throws IOException {
        ConfigurationFiles files = ConfigurationFiles.open(dir);
        files.store("a", configuration("a"));
        Path file = files.file("a");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        files.store("a", configuration("a"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        files.delete("a");
        assertThat(file).doesNotExist();
        assertThat(files.exists("a")).isFalse();
        assertThatThrownBy(() -> files.load("a")).isInstanceOf(IOException.class).hasMessageContaining("PID a");
    }

    @Test
    void aCrashBetweenWriteAndRenameLeavesTheOldFileWhole() throws IOException {
        ConfigurationFiles files = ConfigurationFiles.open(dir);
        Hashtable<String, Object> old = configuration("org.kcopyd.engine");
        old.put("defaultPages", 2048);
        files.store("org.kcopyd.engine", old);
        byte[] before = Files.readAllBytes(files.file("org.kcopyd.engine"));

        Hashtable<String, Object> next = configuration("org.kcopyd.engine");
        next.put("defaultPages", 4096);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        org.apache.felix.cm.file.ConfigurationHandler.write(out, next);
        Path temporary = AtomicFiles.prepare(files.file("org.kcopyd.engine"), out.toByteArray());
        // The process dies here: the new content is in the temporary file, not renamed yet.
        assertThat(Files.readAllBytes(files.file("org.kcopyd.engine"))).isEqualTo(before);

        ConfigurationFiles restarted = ConfigurationFiles.open(dir);
        assertThat(restarted.load("org.kcopyd.engine").get("defaultPages")).isEqualTo(2048);
        assertThat(temporary).as("the crash's leftover is removed at the next start").doesNotExist();
        assertThat(Collections.list(restarted.getDictionaries())).hasSize(1);
    }

    @Test
    void aFileThatCannotBeReadRefusesTheDirectoryNamingIt() throws IOException {
        ConfigurationFiles.open(dir).store("good", configuration("good"));
        Path corrupt = dir.resolve("broken.config");
        Files.writeString(corrupt, "service.pid=\"broken\"\nvalue=I\"notanumber\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> ConfigurationFiles.open(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(corrupt.toString());
        assertThat(corrupt).exists();
    }

    @Test
    void aFileHoldingAnotherPidOrNoneIsRefused() throws IOException {
        Path misnamed = dir.resolve("b.config");
        Files.writeString(misnamed, "service.pid=\"a\"\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> ConfigurationFiles.open(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(misnamed.toString()).hasMessageContaining("holds PID a");
        Files.writeString(misnamed, "value=\"x\"\n", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> ConfigurationFiles.open(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining(misnamed.toString()).hasMessageContaining("no service.pid");
    }
}
