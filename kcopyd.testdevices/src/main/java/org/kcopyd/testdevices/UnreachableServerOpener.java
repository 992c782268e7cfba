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
 * does when nothing listens; paths open as the inner opener opens them. Counts the opens of URIs
 * tried, failed or not. Thread-safe.
 */
public final class UnreachableServerOpener implements BlockDeviceOpener {

    private final BlockDeviceOpener inner;
    private final AtomicInteger opens = new AtomicInteger();
    private volatile boolean reachable;

    /** @param inner the opener that opens once the server is reachable */
    public UnreachableServerOpener(BlockDeviceOpener inner) {
        this.inner = inner;
    }

    /** @param now whether opens of URIs reach the server from now on */
    public void reachable(boolean now) {
        reachable = now;
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
        opens.incrementAndGet();
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
