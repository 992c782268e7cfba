package org.kcopyd.control.internal.service;

import java.nio.file.Path;

import org.kcopyd.control.ControlException;
import org.kcopyd.device.ProcPaths;

/**
 * Refuses a path that names a file through {@code /proc} ({@link ProcPaths}: {@code /proc/self/fd/4},
 * {@code /proc/self/cwd/a.img}, {@code /dev/fd/4}, {@code /dev/stdin}, a symbolic link to any of them, a proc
 * file system mounted elsewhere). The control runs in the daemon and looks paths up in the daemon's process,
 * while its caller meant its own: {@code /proc/self/fd/4} of a shell is a file the user opened, of the daemon a
 * file the daemon holds (H48: a copy "to the user's fd 4" zeroed the daemon's jar). No file kcopyd copies lives
 * in {@code /proc}; the file's own path names it for every process alike.
 */
final class ProcessPaths {

    private ProcessPaths() {
    }

    /**
     * @param field what the path is, for the message ("destination", "leg 1"...)
     * @param path  an absolute path
     * @throws ControlException BAD_REQUEST naming the path and where it leads
     */
    static void refuseProcessView(String field, Path path) {
        String through = ProcPaths.throughProc(path);
        if (through != null) {
            throw ControlException.badRequest(field + " " + path + " names a file through /proc" + through
                    + ": the daemon looks paths up in its own process, not in yours, and a configuration keeps them "
                    + "for later starts; give the file's own path");
        }
    }
}
