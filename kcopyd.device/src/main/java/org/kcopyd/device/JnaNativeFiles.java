package org.kcopyd.device;

import java.io.IOException;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import com.sun.jna.ptr.LongByReference;

/**
 * {@link NativeFiles} through JNA and the C library ({@link LinuxLibc}); retries calls
 * interrupted by a signal ({@code EINTR}). The only class besides {@link LinuxLibc} that names
 * JNA. Thread-safe.
 */
final class JnaNativeFiles implements NativeFiles {

    private final LinuxLibc libc;

    private JnaNativeFiles(LinuxLibc libc) {
        this.libc = libc;
    }

    static NativeFiles load() {
        return new JnaNativeFiles(LinuxLibc.load());
    }

    @Override
    public int open(String path, boolean writable) throws IOException {
        while (true) {
            try {
                // O_NONBLOCK: a FIFO renamed over the name since the caller looked at it is opened at
                // once (and then refused as what it is), not waited on for a writer that never comes.
                return libc.open64(path, (writable ? LinuxLibc.O_RDWR : LinuxLibc.O_RDONLY) | LinuxLibc.O_NONBLOCK
                        | LinuxLibc.O_CLOEXEC);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LinuxLibc.ENOENT) {
                    throw new java.nio.file.NoSuchFileException(path);
                }
                if (e.getErrorCode() != LinuxLibc.EINTR) {
                    throw new IOException("open " + path + ": " + e.getMessage(), e);
                }
            }
        }
    }

    @Override
    public int createNew(String path) throws IOException {
        while (true) {
            try {
                return libc.open64(path, LinuxLibc.O_RDWR | LinuxLibc.O_CREAT | LinuxLibc.O_EXCL | LinuxLibc.O_CLOEXEC,
                        0666);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LinuxLibc.EEXIST) {
                    throw new java.nio.file.FileAlreadyExistsException(path);
                }
                if (e.getErrorCode() != LinuxLibc.EINTR) {
                    throw new IOException("create " + path + ": " + e.getMessage(), e);
                }
            }
        }
    }

    @Override
    public long seek(int fd, long pos, boolean data) throws IOException {
        while (true) {
            try {
                return libc.lseek64(fd, pos, data ? LinuxLibc.SEEK_DATA : LinuxLibc.SEEK_HOLE);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LinuxLibc.ENXIO) {
                    return -1;
                }
                if (e.getErrorCode() != LinuxLibc.EINTR) {
                    throw new IOException("lseek " + (data ? "SEEK_DATA" : "SEEK_HOLE") + " at byte " + pos + ": "
                            + e.getMessage(), e);
                }
            }
        }
    }

    @Override
    public void punch(int fd, long offset, long length) throws IOException {
        while (true) {
            try {
                libc.fallocate64(fd, LinuxLibc.FALLOC_FL_PUNCH_HOLE | LinuxLibc.FALLOC_FL_KEEP_SIZE, offset, length);
                return;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LinuxLibc.EINTR) {
                    throw new IOException("fallocate PUNCH_HOLE of " + length + " bytes at byte " + offset + ": "
                            + e.getMessage(), e);
                }
            }
        }
    }

    @Override
    public long copyRange(int in, long inOffset, int out, long outOffset, long length) throws IOException {
        LongByReference inAt = new LongByReference(inOffset);
        LongByReference outAt = new LongByReference(outOffset);
        while (true) {
            try {
                return libc.copyFileRange(in, inAt, out, outAt, new NativeLong(length), 0).longValue();
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno == LinuxLibc.EINTR) {
                    continue;
                }
                String what = "copy_file_range of " + length + " bytes from byte " + inOffset + " to byte " + outOffset;
                if (errno == LinuxLibc.EXDEV || errno == LinuxLibc.EOPNOTSUPP || errno == LinuxLibc.EINVAL
                        || errno == LinuxLibc.ENOSYS || errno == LinuxLibc.EBADF) {
                    throw new OffloadRefusedException(what + ": " + e.getMessage(), e);
                }
                throw new IOException(what + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void cloneRange(int in, long inOffset, int out, long outOffset, long length) throws IOException {
        // struct file_clone_range { __s64 src_fd; __u64 src_offset, src_length, dest_offset; }
        Memory range = new Memory(32);
        range.setLong(0, in);
        range.setLong(8, inOffset);
        range.setLong(16, length);
        range.setLong(24, outOffset);
        while (true) {
            try {
                libc.ioctl(out, new NativeLong(LinuxLibc.FICLONERANGE), range);
                return;
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno == LinuxLibc.EINTR) {
                    continue;
                }
                String what = "ioctl FICLONERANGE of " + length + " bytes from byte " + inOffset + " to byte " + outOffset;
                if (errno == LinuxLibc.EXDEV || errno == LinuxLibc.EOPNOTSUPP || errno == LinuxLibc.EINVAL
                        || errno == LinuxLibc.ENOSYS || errno == LinuxLibc.EBADF || errno == LinuxLibc.ENOTTY) {
                    throw new OffloadRefusedException(what + ": " + e.getMessage(), e);
                }
                throw new IOException(what + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public FileSystemId fileSystem(int fd) throws IOException {
        // struct statfs is 120 bytes on 64-bit Linux, 64 on 32-bit: room to spare.
        Memory buf = new Memory(256);
        buf.clear();
        while (true) {
            try {
                libc.fstatfs(fd, buf);
                long type = buf.getNativeLong(0).longValue() & 0xFFFF_FFFFL;
                long fsid = buf.getLong(7L * NativeLong.SIZE);
                return new FileSystemId(type, fsid);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LinuxLibc.EINTR) {
                    throw new IOException("fstatfs: " + e.getMessage(), e);
                }
            }
        }
    }

    @Override
    public long[] loopBacking(String device) throws IOException {
        int fd = open(device, false);
        try {
            Memory info = new Memory(232);
            info.clear();
            try {
                libc.ioctl(fd, new NativeLong(LinuxLibc.LOOP_GET_STATUS64), info);
            } catch (LastErrorException e) {
                throw new IOException("LOOP_GET_STATUS64 " + device + ": " + e.getMessage(), e);
            }
            return new long[] {info.getLong(0), info.getLong(8), info.getLong(24), info.getLong(16)};
        } finally {
            close(fd);
        }
    }

    @Override
    public byte[] fileHandle(String path) throws IOException {
        // struct file_handle: unsigned int handle_bytes; int handle_type; unsigned char f_handle[].
        Memory handle = new Memory(8 + LinuxLibc.MAX_HANDLE_SZ);
        handle.clear();
        handle.setInt(0, LinuxLibc.MAX_HANDLE_SZ);
        Memory mount = new Memory(4);
        try {
            libc.nameToHandleAt(LinuxLibc.AT_FDCWD, path, handle, mount, LinuxLibc.AT_SYMLINK_FOLLOW);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LinuxLibc.EOPNOTSUPP || e.getErrorCode() == LinuxLibc.ENOSYS) {
                throw new UnsupportedOperationException("no file handles for " + path + ": " + e.getMessage());
            }
            throw new IOException("name_to_handle_at " + path + ": " + e.getMessage(), e);
        }
        int bytes = Math.min(handle.getInt(0), LinuxLibc.MAX_HANDLE_SZ);
        return java.nio.ByteBuffer.allocate(4 + bytes).putInt(handle.getInt(4)).put(handle.getByteArray(8, bytes))
                .array();
    }

    @Override
    public boolean lockRange(int fd, long offset, long length) throws IOException {
        return ofdLock(fd, LinuxLibc.F_WRLCK, offset, length);
    }

    @Override
    public boolean lockRangeShared(int fd, long offset, long length) throws IOException {
        return ofdLock(fd, LinuxLibc.F_RDLCK, offset, length);
    }

    @Override
    public void unlockRange(int fd, long offset, long length) throws IOException {
        ofdLock(fd, LinuxLibc.F_UNLCK, offset, length);
    }

    private boolean ofdLock(int fd, short type, long offset, long length) throws IOException {
        if (com.sun.jna.Native.LONG_SIZE != 8) {
            // A 32-bit C library's struct flock has 32-bit offsets: OFD locks need its flock64.
            throw new UnsupportedOperationException("no OFD locks through a 32-bit C library");
        }
        // struct flock (64-bit): short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid
        // (0 for OFD locks); padded to 32 bytes.
        Memory lock = new Memory(32);
        lock.clear();
        lock.setShort(0, type);
        lock.setShort(2, (short) 0);
        lock.setLong(8, offset);
        lock.setLong(16, length);
        while (true) {
            try {
                libc.fcntl(fd, LinuxLibc.F_OFD_SETLK, lock);
                return true;
            } catch (LastErrorException e) {
                int errno = e.getErrorCode();
                if (errno == LinuxLibc.EAGAIN || errno == LinuxLibc.EACCES) {
                    return false;
                }
                if (errno == LinuxLibc.EINVAL) {
                    throw new UnsupportedOperationException("no OFD locks in this kernel: " + e.getMessage(), e);
                }
                if (errno != LinuxLibc.EINTR) {
                    throw new IOException("fcntl F_OFD_SETLK of " + length + " bytes at byte " + offset + ": "
                            + e.getMessage(), e);
                }
            }
        }
    }

    @Override
    public void close(int fd) {
        try {
            libc.close(fd);
        } catch (LastErrorException e) {
            // A failed close of a descriptor only read through, or punched: nothing to undo.
        }
    }
}
