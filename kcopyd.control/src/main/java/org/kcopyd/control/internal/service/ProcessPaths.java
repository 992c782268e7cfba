package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

import org.kcopyd.control.ControlException;

/**
 * Refuses a path that names a file through {@code /proc} ({@code /proc/self/fd/4}, {@code /proc/self/cwd/a.img},
 * {@code /dev/fd/4}, {@code /dev/stdin}, a symbolic link to any of them). The control runs in the daemon and
 * looks paths up in the daemon's process, while its caller meant its own: {@code /proc/self/fd/4} of a shell
 * is a file the user opened, of the daemon a file the daemon holds (H48: a copy to it zeroed the daemon's own
 * jar). No file kcopyd copies lives in {@code /proc}; the file's own path names it for every process alike.
 */
final class ProcessPaths {

    private static final Path PROC = Path.of("/proc");
    /** Symbolic links followed at most, as the kernel's limit; past it the path is left to fail when opened. */
    private static final int MOST_LINKS = 40;

    private ProcessPaths() {
    }

    /**
     * Follows {@code path}'s symbolic links, component by component as the kernel does (a {@code ..} after a
     * link goes up from the link's target), and refuses it if any step is in {@code /proc}.
     *
     * @param field what the path is, for the message ("destination", "leg 1"...)
     * @param path  an absolute path
     * @throws ControlException BAD_REQUEST naming the path and where it leads
     */
    static void refuseProcessView(String field, Path path) {
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
                throw ControlException.badRequest(field + " " + path + " names a file through " + PROC + through
                        + ": the daemon looks paths up in its own process, not in yours, and a configuration keeps them "
                        + "for later starts; give the file's own path");
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
    }
}
