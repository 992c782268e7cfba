package org.kcopyd.device;

import java.util.Map;

import com.sun.jna.FunctionMapper;
import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;

/**
 * The C library calls that give files their holes and copy offload, through JNA: {@code open64},
 * {@code lseek64} with {@code SEEK_DATA}/{@code SEEK_HOLE}, {@code fallocate64} with
 * {@code FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE}, {@code copy_file_range} (glibc 2.27),
 * {@code ioctl} with {@code FICLONERANGE}, {@code fstatfs}, {@code fcntl} with {@code F_OFD_SETLK}
 * and {@code close}. The 64-bit names take
 * 64-bit offsets on every Linux architecture (on 64-bit ones they are the plain calls). Only
 * {@link JnaNativeFiles} uses it, and only after {@link #load()} succeeded: a runtime without JNA
 * never loads this class. Thread-safe (the C calls are).
 */
interface LinuxLibc extends Library {

    /** {@code open(2)} flag: read only. The same value on every Linux architecture. */
    int O_RDONLY = 0;
    /** {@code open(2)} flag: read and write. */
    int O_RDWR = 2;
    /** {@code open(2)} flag: create the file (asm-generic's value, as {@link #O_CLOEXEC}). */
    int O_CREAT = 0100;
    /** {@code open(2)} flag: with {@link #O_CREAT}, fail with {@link #EEXIST} if anything is at the path. */
    int O_EXCL = 0200;
    /**
     * {@code open(2)} flag: do not wait in the open (a FIFO opened for reading waits for a writer
     * without it); regular files and block devices ignore it (asm-generic's value, as {@link #O_CLOEXEC}).
     */
    int O_NONBLOCK = 04000;
    /**
     * {@code open(2)} flag: closed in a program this process executes, as the JDK's own descriptors
     * are (asm-generic's value: x86, ARM, RISC-V, POWER, s390).
     */
    int O_CLOEXEC = 02000000;
    /** {@code lseek(2)}: the next data at or after the offset (Linux 3.1). */
    int SEEK_DATA = 3;
    /** {@code lseek(2)}: the next hole at or after the offset; the end of the file is one. */
    int SEEK_HOLE = 4;
    /** {@code fallocate(2)}: do not change the file size. */
    int FALLOC_FL_KEEP_SIZE = 1;
    /** {@code fallocate(2)}: deallocate the range; it reads as zeros afterwards. */
    int FALLOC_FL_PUNCH_HOLE = 2;
    /** errno: no such file or directory. */
    int ENOENT = 2;
    /** errno: no data at or after the offset ({@code SEEK_DATA}). */
    int ENXIO = 6;
    /** errno: interrupted by a signal. */
    int EINTR = 4;
    /** {@code errno}: something exists at the path ({@link #O_EXCL}). */
    int EEXIST = 17;

    /** errno: bad descriptor (for copy_file_range: a file opened with O_APPEND, or not for reading/writing). */
    int EBADF = 9;
    /** errno: the files are on different file systems (copy_file_range before Linux 5.3, or of different types). */
    int EXDEV = 18;
    /** errno: invalid argument (not regular files, overlapping ranges, unaligned reflink). */
    int EINVAL = 22;
    /** errno: the ioctl is unknown to this file. */
    int ENOTTY = 25;
    /** errno: the system call does not exist. */
    int ENOSYS = 38;
    /** errno: the file system does not support the operation (also ENOTSUP). */
    int EOPNOTSUPP = 95;
    /**
     * {@code ioctl(2)} request {@code FICLONERANGE}: {@code _IOW(0x94, 13, struct file_clone_range)},
     * the struct being 32 bytes (s64 src_fd, u64 src_offset, u64 src_length, u64 dest_offset).
     */
    long FICLONERANGE = (1L << 30) | (32L << 16) | (0x94L << 8) | 13L;
    /** {@code fcntl(2)}: set an open file description lock, or fail at once (Linux 3.15; every architecture). */
    int F_OFD_SETLK = 37;
    /** {@code struct flock}'s {@code l_type}: a shared (read) lock. */
    short F_RDLCK = 0;
    /** {@code struct flock}'s {@code l_type}: an exclusive (write) lock. */
    short F_WRLCK = 1;
    /** {@code struct flock}'s {@code l_type}: unlock. */
    short F_UNLCK = 2;
    /** {@code *at(2)} calls: a path relative to the working directory (or absolute). */
    int AT_FDCWD = -100;
    /** {@code name_to_handle_at(2)}: follow a symbolic link at the path's end. */
    int AT_SYMLINK_FOLLOW = 0x400;
    /** {@code name_to_handle_at(2)}: the largest {@code f_handle} (MAX_HANDLE_SZ). */
    int MAX_HANDLE_SZ = 128;
    /** errno: the buffer is too small ({@code name_to_handle_at}: the handle's size is then set). */
    int EOVERFLOW = 75;
    /**
     * {@code ioctl(2)} request {@code LOOP_GET_STATUS64} of a loop device: fills a {@code struct
     * loop_info64} (232 bytes: {@code u64 lo_device, lo_inode, lo_rdevice, lo_offset, ...}).
     */
    long LOOP_GET_STATUS64 = 0x4C05;
    /** errno: try again (a conflicting lock is held). */
    int EAGAIN = 11;
    /** errno: permission denied (also a conflicting lock, by POSIX's leave). */
    int EACCES = 13;

    int open64(String path, int flags) throws LastErrorException;

    /** {@code open64(2)} with a mode, for {@link #O_CREAT}. */
    int open64(String path, int flags, int mode) throws LastErrorException;

    /** {@code copy_file_range(2)}, bound to the C name by {@link #load()}'s function mapper. */
    NativeLong copyFileRange(int fdIn, LongByReference offIn, int fdOut, LongByReference offOut, NativeLong len,
            int flags) throws LastErrorException;

    int ioctl(int fd, NativeLong request, Pointer arg) throws LastErrorException;

    long lseek64(int fd, long offset, int whence) throws LastErrorException;

    int fallocate64(int fd, int mode, long offset, long length) throws LastErrorException;

    /**
     * {@code fstatfs(2)} into {@code buf}, a {@code struct statfs}: {@code f_type} is its first
     * word and {@code f_fsid} (two ints) follows seven words ({@code f_type, f_bsize, f_blocks,
     * f_bfree, f_bavail, f_files, f_ffree}), a word being a C {@code long}.
     */
    int fstatfs(int fd, Pointer buf) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    /** {@code name_to_handle_at(2)}, bound to the C name by {@link #load()}'s function mapper. */
    int nameToHandleAt(int dirfd, String path, Pointer handle, Pointer mountId, int flags)
            throws LastErrorException;

    /** {@code fcntl(2)} with a pointer argument (a {@code struct flock} for the lock commands). */
    int fcntl(int fd, int cmd, Pointer arg) throws LastErrorException;

    /**
     * @return the C library, bound
     * @throws UnsupportedOperationException off Linux
     * @throws LinkageError if JNA or its native part cannot be loaded
     */
    static LinuxLibc load() {
        if (!Platform.isLinux()) {
            throw new UnsupportedOperationException("file holes need Linux; this is " + System.getProperty("os.name"));
        }
        // copyFileRange is copy_file_range in C, nameToHandleAt name_to_handle_at; the other names are the C names.
        FunctionMapper names = (library, method) -> switch (method.getName()) {
            case "copyFileRange" -> "copy_file_range";
            case "nameToHandleAt" -> "name_to_handle_at";
            default -> method.getName();
        };
        return Native.load(Platform.C_LIBRARY_NAME, LinuxLibc.class, Map.of(Library.OPTION_FUNCTION_MAPPER, names));
    }
}
