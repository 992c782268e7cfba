package org.kcopyd.device;

import java.io.IOException;

/**
 * The system calls behind {@link FileHoles}, in types of the JDK only, so that {@link FileHoles}
 * loads and runs where JNA is absent: the one implementation, {@link JnaNativeFiles}, is the only
 * class that names JNA, and it is loaded only when asked for. Thread-safe.
 */
interface NativeFiles {

    /**
     * @return a descriptor of {@code path} opened read-only, or read-write if {@code writable}
     * @throws IOException naming the path and the error
     */
    int open(String path, boolean writable) throws IOException;

    /**
     * {@code lseek(fd, pos, SEEK_DATA)} or {@code SEEK_HOLE}.
     *
     * @param data true for {@code SEEK_DATA}, false for {@code SEEK_HOLE}
     * @return the offset, or -1 when there is no data at or after {@code pos} ({@code ENXIO})
     * @throws IOException naming the error
     */
    long seek(int fd, long pos, boolean data) throws IOException;

    /**
     * {@code fallocate(fd, PUNCH_HOLE | KEEP_SIZE, offset, length)}.
     *
     * @throws IOException naming the error (the file system refused, for instance {@code EOPNOTSUPP})
     */
    void punch(int fd, long offset, long length) throws IOException;

    /** Closes the descriptor; errors are ignored (there is nothing left to do about them). */
    void close(int fd);

    /**
     * @return the implementation through JNA
     * @throws LinkageError if JNA or its native part is absent
     * @throws UnsupportedOperationException off Linux
     */
    static NativeFiles load() {
        return JnaNativeFiles.load();
    }
}
