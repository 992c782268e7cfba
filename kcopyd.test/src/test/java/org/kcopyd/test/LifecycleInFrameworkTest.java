package org.kcopyd.test;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.testbundle.ConsumerProbe;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;

@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class LifecycleInFrameworkTest extends KcopydTestSupport {

    private Object factoryId() throws InterruptedException {
        return reference(KcopydClientFactory.class).getProperty("service.id");
    }

    @Test
    public void stopStartAndUpdateRebindTheConsumerAndItsJobsReportExactlyOnce() throws Exception {
        ConsumerProbe probe = service(ConsumerProbe.class);
        await("consumer bound", probe::isBound);
        Object first = factoryId();
        assertEquals(List.of("bind " + first), probe.events());

        SlowMemoryDevice src = new SlowMemoryDevice("src", 2048, 20, 7);
        SlowMemoryDevice dst = new SlowMemoryDevice("dst", 2048, 0, 0);
        List<CompletableFuture<CopyResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            jobs.add(probe.copy(IoRegion.of(src, i * 128L, 128), IoRegion.of(dst, i * 128L, 128), i)
                    .toCompletableFuture());
        }
        Bundle impl = bundle("kcopyd.impl");
        impl.stop();

        assertEquals(List.of("bind " + first, "unbind " + first), probe.events());
        Map<Integer, Integer> deliveries = probe.deliveries();
        assertEquals(16, deliveries.size());
        deliveries.values().forEach(count -> assertEquals("each job reported once", 1, count.intValue()));
        for (CompletableFuture<CopyResult> job : jobs) {
            assertTrue("finished before the client closed", job.getNow(null).isSuccess());
        }
        assertArrayEquals(src.bytes(), dst.bytes());

        impl.start();
        await("rebound after start", () -> probe.events().size() == 3);
        Object second = factoryId();
        assertEquals("bind " + second, probe.events().get(2));

        impl.update();
        await("rebound after update", () -> probe.events().size() == 5);
        Object third = factoryId();
        assertEquals(List.of("bind " + first, "unbind " + first, "bind " + second, "unbind " + second, "bind " + third),
                probe.events());
        CopyResult after = probe.copy(IoRegion.of(src, 0, 8), IoRegion.of(dst, 0, 8), 100).toCompletableFuture()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertTrue(after.isSuccess());
    }

    @Test
    public void noEngineThreadRemainsAfterTheBundleStops() throws Exception {
        service(KcopydClientFactory.class);
        ConsumerProbe probe = service(ConsumerProbe.class);
        await("consumer bound", probe::isBound);
        assertTrue("the engine runs threads", !kcopydThreads().isEmpty());

        bundle("kcopyd.impl").stop();

        await("no kcopyd thread left, still: " + kcopydThreads(), () -> kcopydThreads().isEmpty());
    }
}
