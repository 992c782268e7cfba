package org.kcopyd.testdevices;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;

/**
 * A {@link BlockDeviceOpener} service whose server is down until {@link #reachable(boolean)} says
 * otherwise: every open of a URI fails then with a {@link ConnectException}, as the NBD client's
 * does when nothing listens; paths open as the inner opener opens them. While {@link #silent(boolean)}
 * says so, an open of a URI waits instead, as against a server that accepts the connection and
 * never answers, until it no longer is (then it fails or opens as above). Counts the opens of URIs
 * tried, failed or not, and those waiting. Thread-safe.
 */
public final class UnreachableServerOpener implements BlockDeviceOpener {

    private final BlockDeviceOpener inner;
    private final AtomicInteger opens = new AtomicInteger();
    private volatile boolean reachable;
    private final Object silence = new Object();
    /** Guarded by silence. */
    private boolean silent;
    /** Opens waiting in silence now. Guarded by silence. */
    private int waiting;
    /** Opens of URIs (counted from the first) answered before the server goes silent. Guarded by silence. */
    private int answered = Integer.MAX_VALUE;

    /** @param inner the opener that opens once the server is reachable */
    public UnreachableServerOpener(BlockDeviceOpener inner) {
        this.inner = inner;
    }

    /** @param now whether opens of URIs reach the server from now on */
    public void reachable(boolean now) {
        reachable = now;
    }

    /** @param now whether opens of URIs wait, from now on, until this is called with false (which ends any silence) */
    public void silent(boolean now) {
        synchronized (silence) {
            silent = now;
            if (!now) {
                answered = Integer.MAX_VALUE;
            }
            silence.notifyAll();
        }
    }

    /** @param n opens of URIs answered in all (counted from the first); later ones wait until {@code silent(false)} */
    public void silentAfter(int n) {
        synchronized (silence) {
            answered = n;
            silence.notifyAll();
        }
    }

    /** @return the opens of URIs waiting in silence now */
    public int waiting() {
        synchronized (silence) {
            return waiting;
        }
    }

    /** @return the opens of URIs tried so far */
    public int opens() {
        return opens.get();
    }

    @Override
    public BlockDevice open(Path path, DeviceOption... options) throws IOException {
        return inner.open(path, options);
    }

    @Override
    public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
        int number = opens.incrementAndGet();
        synchronized (silence) {
            waiting++;
            try {
                while (silent || number > answered) {
                    silence.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while connecting to " + uri);
            } finally {
                waiting--;
            }
        }
        if (!reachable) {
            throw new ConnectException("cannot connect to " + uri + ": Connection refused");
        }
        return inner.open(uri, options);
    }

    @Override
    public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
        return inner.create(path, sizeInSectors, options);
    }
}
