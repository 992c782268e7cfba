package org.kcopyd.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Tells whether a path reaches its file through {@code /proc} ({@code /proc/self/fd/4},
 * {@code /proc/self/cwd/a.img}, {@code /dev/fd/4}, {@code /dev/stdin}, a symbolic link to any of them,
 * or a proc file system mounted elsewhere): such a path names a file of the process that looks it up.
 * A daemon looks it up in its own process, not in its caller's (H48-2: a copy to the user's
 * {@code /proc/self/fd/4} zeroed the daemon's own jar), and a configuration keeps it for later starts
 * (H49-5: an exported file replaced by a link to {@code /dev/stdout} served the daemon's output).
 * Stateless; reads the file system (links, and the type of each directory passed through).
 *
 * @since 1.13
 */
public final class ProcPaths {

    private static final Path PROC = Path.of("/proc");
    /** Symbolic links followed at most, as the kernel's limit; past it the path is left to fail when opened. */
    private static final int MOST_LINKS = 40;

    private ProcPaths() {
    }

    /**
     * Follows {@code path}'s symbolic links component by component, as the kernel does (a {@code ..}
     * after a link goes up from the link's target).
     *
     * @param path an absolute path
     * @return null if no step is in {@code /proc} or on a proc file system; else how the path gets there:
     *         empty if by its own name, else {@code " (LINK is a symbolic link to TARGET)"} naming the last
     *         link followed, or {@code " (DIR is a proc file system)"}
     */
    public static String throughProc(Path path) {
        Deque<Path> todo = new ArrayDeque<>();
        path.forEach(todo::add);
        Path at = path.getRoot();
        int links = 0;
        String through = "";
        while (!todo.isEmpty()) {
            String name = todo.pollFirst().toString();
            if (name.equals(".") || name.isEmpty()) {
                continue;
            }
            if (name.equals("..")) {
                at = at.getParent() == null ? at : at.getParent();
                continue;
            }
            Path next = at.resolve(name);
            if (next.startsWith(PROC)) {
                return through;
            }
            if (isProcFileSystem(next)) {
                return " (" + next + " is a proc file system)";
            }
            if (!Files.isSymbolicLink(next) || ++links > MOST_LINKS) {
                at = next;
                continue;
            }
            Path target;
            try {
                target = Files.readSymbolicLink(next);
            } catch (IOException e) {
                at = next;
                continue;
            }
            through = " (" + next + " is a symbolic link to " + target + ")";
            Deque<Path> rest = new ArrayDeque<>();
            target.forEach(rest::add);
            while (!rest.isEmpty()) {
                todo.addFirst(rest.pollLast());
            }
            if (target.isAbsolute()) {
                at = target.getRoot();
            }
        }
        return null;
    }

    /** @return true if {@code path} is a directory of a proc file system (mounted anywhere) */
    private static boolean isProcFileSystem(Path path) {
        if (!Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            return "proc".equals(Files.getFileStore(path).type());
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
