package org.kcopyd.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The four C library calls that give files their holes, through JNA: {@code open64},
 * {@code lseek64} with {@code SEEK_DATA}/{@code SEEK_HOLE}, {@code fallocate64} with
 * {@code FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE}, and {@code close}. The 64-bit names take
 * 64-bit offsets on every Linux architecture (on 64-bit ones they are the plain calls). Only
 * {@link JnaNativeFiles} uses it, and only after {@link #load()} succeeded: a runtime without JNA
 * never loads this class. Thread-safe (the C calls are).
 */
interface LinuxLibc extends Library {

    /** {@code open(2)} flag: read only. The same value on every Linux architecture. */
    int O_RDONLY = 0;
    /** {@code open(2)} flag: read and write. */
    int O_RDWR = 2;
    /** {@code lseek(2)}: the next data at or after the offset (Linux 3.1). */
    int SEEK_DATA = 3;
    /** {@code lseek(2)}: the next hole at or after the offset; the end of the file is one. */
    int SEEK_HOLE = 4;
    /** {@code fallocate(2)}: do not change the file size. */
    int FALLOC_FL_KEEP_SIZE = 1;
    /** {@code fallocate(2)}: deallocate the range; it reads as zeros afterwards. */
    int FALLOC_FL_PUNCH_HOLE = 2;
    /** errno: no data at or after the offset ({@code SEEK_DATA}). */
    int ENXIO = 6;
    /** errno: interrupted by a signal. */
    int EINTR = 4;

    int open64(String path, int flags) throws LastErrorException;

    long lseek64(int fd, long offset, int whence) throws LastErrorException;

    int fallocate64(int fd, int mode, long offset, long length) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    /**
     * @return the C library, bound
     * @throws UnsupportedOperationException off Linux
     * @throws LinkageError if JNA or its native part cannot be loaded
     */
    static LinuxLibc load() {
        if (!Platform.isLinux()) {
            throw new UnsupportedOperationException("file holes need Linux; this is " + System.getProperty("os.name"));
        }
        return Native.load(Platform.C_LIBRARY_NAME, LinuxLibc.class);
    }
}
