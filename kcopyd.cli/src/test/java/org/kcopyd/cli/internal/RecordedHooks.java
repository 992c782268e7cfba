package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Records the hooks a command registers and removes, instead of the JVM's. */
final class RecordedHooks implements ShutdownHooks {
    final BlockingQueue<Thread> added = new LinkedBlockingQueue<>();
    final List<Thread> removed = new CopyOnWriteArrayList<>();

    @Override
    public void add(Thread hook) {
        added.add(hook);
    }

    @Override
    public void remove(Thread hook) {
        removed.add(hook);
    }

    Thread next() throws InterruptedException {
        Thread hook = added.poll(20, TimeUnit.SECONDS);
        assertThat(hook).as("the command registered a shutdown hook").isNotNull();
        return hook;
    }
}
