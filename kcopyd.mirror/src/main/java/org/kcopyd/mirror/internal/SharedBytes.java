package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.file.Path;

import org.kcopyd.device.DeviceBacking;

/**
 * Whether two existing files or block devices are, in part, the same bytes through a block device
 * over the other, as sysfs tells ({@link DeviceBacking}: a loop device over a file, a partition of
 * a disk). Claims compare a block device by its own device number, so a loop device over a leg is
 * not that leg to them; this is what tells. The same file under two paths is the claims'
 * business (they refuse it with the holder's name), not this. Stateless.
 */
final class SharedBytes {

    private SharedBytes() {
    }

    /**
     * @return null if {@code a} and {@code b} share no byte through a block device over the other (or
     *         are two names of one file), else how they do, in words, such as
     *         "/dev/loop0 (a loop device over /srv/a.img from byte 0) and /srv/a.img are the same bytes"
     * @throws IOException if either cannot be examined (then whether they share bytes is unknown)
     */
    static String between(Path a, Path b) throws IOException {
        DeviceBacking.Window wa = DeviceBacking.of(a);
        DeviceBacking.Window wb = DeviceBacking.of(b);
        if (wa.via().isEmpty() && wb.via().isEmpty() || !wa.overlaps(0, wa.length(), wb, 0, wb.length())) {
            return null;
        }
        return a + described(wa) + " and " + b + described(wb) + " are the same bytes";
    }

    private static String described(DeviceBacking.Window w) {
        return w.via().isEmpty() ? "" : " (" + w.via() + ")";
    }
}
