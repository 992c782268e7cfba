package org.kcopyd.cli.internal;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar on a terminal: bytes done, rate and time left, redrawn every 200 ms.
 * Closing ends the line; an interruption may close it from another thread, so closing twice is harmless.
 */
final class Progress implements AutoCloseable {

    private final PrintWriter out;
    private final long total;
    private final LongSupplier done;
    private final long start = System.nanoTime();
    private final ScheduledExecutorService timer;
    private final AtomicBoolean closed = new AtomicBoolean();

    Progress(PrintWriter out, long total, LongSupplier done) {
        this.out = out;
        this.total = total;
        this.done = done;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kcopyd-progress");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(this::draw, 0, 200, TimeUnit.MILLISECONDS);
    }

    static String bytes(double b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (b >= 1024 && u < units.length - 1) {
            b /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    }

    static String line(long doneBytes, long totalBytes, double seconds) {
        double fraction = totalBytes == 0 ? 1 : Math.min(1, (double) doneBytes / totalBytes);
        int width = 30;
        int filled = (int) Math.round(fraction * width);
        double rate = seconds > 0 ? doneBytes / seconds : 0;
        String left = rate > 0 && doneBytes < totalBytes ? eta((totalBytes - doneBytes) / rate) : "--:--";
        return String.format(Locale.ROOT, "[%s%s] %3.0f%% %s / %s  %s/s  %s left", "#".repeat(filled),
                " ".repeat(width - filled), fraction * 100, bytes(doneBytes), bytes(totalBytes), bytes(rate), left);
    }

    private static String eta(double seconds) {
        long s = (long) Math.ceil(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    private void draw() {
        out.print("\r" + line(done.getAsLong(), total, (System.nanoTime() - start) / 1e9));
        out.flush();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        timer.shutdownNow();
        draw();
        out.println();
        out.flush();
    }
}
