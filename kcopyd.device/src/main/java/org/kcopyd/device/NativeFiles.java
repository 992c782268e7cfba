package org.kcopyd.device;

import java.io.IOException;

/**
 * The system calls behind {@link FileHoles} and copy offload, in types of the JDK only, so that {@link FileHoles}
 * loads and runs where JNA is absent: the one implementation, {@link JnaNativeFiles}, is the only
 * class that names JNA, and it is loaded only when asked for. Thread-safe.
 */
interface NativeFiles {

    /**
     * @return a descriptor of {@code path} opened read-only, or read-write if {@code writable};
     *         the open never waits (a FIFO opens at once, {@code O_NONBLOCK}, which regular files
     *         and block devices ignore)
     * @throws java.nio.file.NoSuchFileException if nothing is at {@code path} (or a symbolic link
     *         there names nothing)
     * @throws IOException naming the path and the error
     */
    int open(String path, boolean writable) throws IOException;

    /**
     * Creates a regular file where nothing exists ({@code O_CREAT|O_EXCL}, mode 0666 less the
     * umask; a symbolic link, even a dangling one, counts as something) and opens it read-write.
     *
     * @return the new file's descriptor
     * @throws java.nio.file.FileAlreadyExistsException if anything exists at {@code path}
     * @throws IOException naming the path and the error
     */
    int createNew(String path) throws IOException;

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

    /**
     * {@code copy_file_range(in, &inOffset, out, &outOffset, length, 0)}: the kernel copies up to
     * {@code length} bytes between two files, reflinking where the file system can (XFS, Btrfs).
     *
     * @return the bytes copied, 0 if the kernel copied nothing (the end of {@code in})
     * @throws OffloadRefusedException if the kernel refuses the pair ({@code EXDEV},
     *                                 {@code EOPNOTSUPP}, {@code EINVAL}, {@code ENOSYS},
     *                                 {@code EBADF})
     * @throws IOException             naming any other error
     */
    long copyRange(int in, long inOffset, int out, long outOffset, long length) throws IOException;

    /**
     * {@code ioctl(out, FICLONERANGE, {in, inOffset, length, outOffset})}: the file system shares
     * the source's blocks with the destination (a reflink), all or nothing. Offsets and length
     * must be multiples of the file system's block size.
     *
     * @throws OffloadRefusedException if the file system refuses ({@code EOPNOTSUPP},
     *                                 {@code EXDEV}, {@code EINVAL}, {@code ENOTTY}, ...)
     * @throws IOException             naming any other error
     */
    void cloneRange(int in, long inOffset, int out, long outOffset, long length) throws IOException;

    /**
     * {@code fstatfs(fd)}: the type and identifier of the file system holding the file.
     *
     * @throws IOException naming the error
     */
    FileSystemId fileSystem(int fd) throws IOException;

    /**
     * {@code name_to_handle_at(AT_FDCWD, path, handle, &mount, AT_SYMLINK_FOLLOW)}: the file system's
     * own name for the file, as NFS servers give clients: for ext4, XFS, Btrfs and tmpfs its inode
     * number and generation, which a new file given a deleted file's inode number does not share.
     *
     * @return the handle's type (4 bytes, big-endian) followed by its bytes
     * @throws UnsupportedOperationException if the file system gives no handles ({@code EOPNOTSUPP},
     *                                       an overlay without {@code nfs_export}) or the call is
     *                                       missing ({@code ENOSYS})
     * @throws IOException                   naming any other error
     */
    byte[] fileHandle(String path) throws IOException;

    /**
     * {@code ioctl(LOOP_GET_STATUS64)} of a loop device: the file behind it as the kernel holds it,
     * whatever became of the name it was set up with (a hard link removed since, a file renamed).
     *
     * @param device the loop device's node, e.g. {@code /dev/loop3}
     * @return {@code {st_dev, st_ino}} of the backing file, as {@code stat} gives them, the offset in
     *         bytes where the device starts in it, and the device number of the block device behind it
     *         (0 for a regular file)
     * @throws IOException naming the error (not a loop device, no permission to open the node, no
     *                     file attached)
     */
    long[] loopBacking(String device) throws IOException;

    /** Closes the descriptor; errors are ignored (there is nothing left to do about them). */
    void close(int fd);

    /**
     * {@code fcntl(fd, F_OFD_SETLK, ...)}: locks {@code length} bytes at {@code offset} exclusively
     * for the open file description of {@code fd}, without waiting. Unlike a POSIX record lock, it
     * is not dropped when the process closes another descriptor of the file; it is released by
     * {@link #unlockRange} or when the last descriptor of that description is closed.
     *
     * @return true if locked; false if another open file description (of this or another process)
     *         holds a conflicting lock, POSIX or OFD
     * @throws UnsupportedOperationException if the system has no such locks (Linux before 3.15, a
     *                                       C library whose {@code struct flock} is not 64-bit)
     * @throws IOException                   naming any other error
     */
    boolean lockRange(int fd, long offset, long length) throws IOException;

    /**
     * {@code fcntl(fd, F_OFD_SETLK, F_RDLCK ...)}: as {@link #lockRange}, a shared (read) lock, which
     * conflicts only with exclusive ones. On a range the description of {@code fd} holds exclusively,
     * it turns that lock into a shared one (at once, it cannot fail for a conflict); {@link
     * #lockRange} on a range it holds shared turns that into an exclusive one if no other
     * description holds a lock there.
     *
     * @return true if locked; false if another open file description holds an exclusive lock there
     * @throws UnsupportedOperationException as {@link #lockRange}
     * @throws IOException                   naming any other error
     */
    boolean lockRangeShared(int fd, long offset, long length) throws IOException;

    /**
     * {@code fcntl(fd, F_OFD_SETLK, F_UNLCK ...)}: releases what {@link #lockRange} locked.
     *
     * @throws IOException naming the error
     */
    void unlockRange(int fd, long offset, long length) throws IOException;

    /**
     * @return the implementation through JNA
     * @throws LinkageError if JNA or its native part is absent
     * @throws UnsupportedOperationException off Linux
     */
    static NativeFiles load() {
        return JnaNativeFiles.load();
    }
}
