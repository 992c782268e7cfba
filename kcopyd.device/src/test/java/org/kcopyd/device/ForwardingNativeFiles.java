package org.kcopyd.device;

import java.io.IOException;

/** The real system calls ({@link FileHoles#system()}); a test's subclass overrides what it changes. */
class ForwardingNativeFiles implements NativeFiles {

    /** The calls every method goes to. */
    protected final NativeFiles real = FileHoles.system();

    @Override
    public int open(String path, boolean writable) throws IOException {
        return real.open(path, writable);
    }

    @Override
    public int createNew(String path) throws IOException {
        return real.createNew(path);
    }

    @Override
    public long seek(int fd, long pos, boolean data) throws IOException {
        return real.seek(fd, pos, data);
    }

    @Override
    public void punch(int fd, long offset, long length) throws IOException {
        real.punch(fd, offset, length);
    }

    @Override
    public long copyRange(int in, long inOffset, int out, long outOffset, long length) throws IOException {
        return real.copyRange(in, inOffset, out, outOffset, length);
    }

    @Override
    public void cloneRange(int in, long inOffset, int out, long outOffset, long length) throws IOException {
        real.cloneRange(in, inOffset, out, outOffset, length);
    }

    @Override
    public long[] loopBacking(String device) throws IOException {
        return real.loopBacking(device);
    }

    @Override
    public byte[] fileHandle(String path) throws IOException {
        return real.fileHandle(path);
    }

    @Override
    public FileSystemId fileSystem(int fd) throws IOException {
        return real.fileSystem(fd);
    }

    @Override
    public void close(int fd) {
        real.close(fd);
    }

    @Override
    public boolean lockRange(int fd, long offset, long length) throws IOException {
        return real.lockRange(fd, offset, length);
    }

    @Override
    public boolean lockRangeShared(int fd, long offset, long length) throws IOException {
        return real.lockRangeShared(fd, offset, length);
    }

    @Override
    public void unlockRange(int fd, long offset, long length) throws IOException {
        real.unlockRange(fd, offset, length);
    }
}
