package org.kcopyd.daemon.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeMap;

import org.apache.felix.cm.PersistenceManager;
import org.apache.felix.cm.file.ConfigurationHandler;

/**
 * Config Admin's configurations kept in one directory (the state directory's {@code config}), one
 * file per PID in Felix's {@code .config} format ({@link ConfigurationHandler}), which keeps every
 * value type Config Admin allows. Files are written and deleted through {@link AtomicFiles}: owner-only,
 * fsynced, renamed over the old file, directory fsynced.
 *
 * <p>A PID becomes a file name by keeping {@code A-Z a-z 0-9 . _ -} (a leading dot excepted) and writing
 * every other byte of its UTF-8 form as {@code %XX}; a factory configuration's {@code ~} is one of those.
 * Temporary files left by a crash are ignored and removed by {@link #open}.
 *
 * <p>Never drops a configuration silently: {@link #open} reads every file and refuses the directory,
 * naming the file, when one cannot be read or holds another PID than its name says. Thread-safe
 * (every method is synchronized).
 */
public final class ConfigurationFiles implements PersistenceManager {

    private static final String SUFFIX = ".config";
    private static final String PID = "service.pid";
    private final Path directory;

    private ConfigurationFiles(Path directory) {
        this.directory = directory;
    }

    /**
     * Opens the directory (which must exist), removing temporary files left by a crash and reading
     * every configuration once.
     *
     * @param directory the configuration directory
     * @return the persistence manager
     * @throws IOException naming the file, when one cannot be read or the directory cannot be listed
     */
    public static ConfigurationFiles open(Path directory) throws IOException {
        ConfigurationFiles files = new ConfigurationFiles(directory);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                if (AtomicFiles.isTemporary(entry.getFileName().toString())) {
                    Files.delete(entry);
                }
            }
        }
        files.readAll();
        return files;
    }

    /** The file a PID is stored in. */
    Path file(String pid) {
        StringBuilder name = new StringBuilder();
        byte[] bytes = pid.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            boolean plain = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
                    || b == '.' && i > 0;
            if (plain) {
                name.append((char) b);
            } else {
                name.append('%').append(String.format("%02X", b));
            }
        }
        return directory.resolve(name.append(SUFFIX).toString());
    }

    @Override
    public synchronized boolean exists(String pid) {
        return Files.isRegularFile(file(pid));
    }

    @Override
    public synchronized Dictionary load(String pid) throws IOException {
        Path file = file(pid);
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no configuration stored for PID " + pid);
        }
        return read(file, pid);
    }

    @Override
    @SuppressWarnings("rawtypes")
    public synchronized Enumeration getDictionaries() throws IOException {
        return Collections.enumeration(readAll());
    }

    @Override
    public synchronized void store(String pid, @SuppressWarnings("rawtypes") Dictionary properties)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ConfigurationHandler.write(out, properties);
        AtomicFiles.write(file(pid), out.toByteArray());
    }

    @Override
    public synchronized void delete(String pid) throws IOException {
        AtomicFiles.delete(file(pid));
    }

    private List<Dictionary<?, ?>> readAll() throws IOException {
        TreeMap<String, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!AtomicFiles.isTemporary(name)) {
                    files.put(name, entry);
                }
            }
        }
        List<Dictionary<?, ?>> all = new ArrayList<>();
        for (Path file : files.values()) {
            all.add(read(file, null));
        }
        return all;
    }

    private Dictionary<?, ?> read(Path file, String expectedPid) throws IOException {
        Dictionary<?, ?> dictionary;
        try {
            dictionary = ConfigurationHandler.read(new ByteArrayInputStream(Files.readAllBytes(file)));
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read the configuration file " + file + ": " + e.getMessage(), e);
        }
        Object pid = dictionary.get(PID);
        if (pid == null) {
            throw new IOException("the configuration file " + file + " has no " + PID
                    + (expectedPid == null ? "" : " (expected " + expectedPid + ")"));
        }
        if (!file(pid.toString()).equals(file)) {
            throw new IOException("the configuration file " + file + " holds PID " + pid + ", which belongs in "
                    + file(pid.toString()).getFileName());
        }
        return dictionary;
    }
}
