package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

/**
 * Over random regions, destination counts, page counts, sub-job sizes and injected faults:
 * every destination that did not fail is byte-identical to the source, every failure is
 * reported (and only real ones), and nothing is written outside the destination regions.
 */
class CopyProperties {

    private static final long DEVICE = 4096;

    record Scenario(long srcStart, long count, int dests, int pages, int subJobKiB, int subJobsPerJob,
            Long readFault, List<Long> writeFaults, boolean ignoreError, boolean writeSeq) {
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Long> start = Arbitraries.longs().between(0, 1024);
        Arbitrary<Long> count = Arbitraries.longs().between(1, 3000);
        Arbitrary<Integer> dests = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, Arbitraries.integers().between(1, 4)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(5, 64)));
        Arbitrary<Integer> pages = Arbitraries.integers().between(1, 64);
        Arbitrary<Integer> subJob = Arbitraries.integers().between(1, 32).map(i -> i * 4);
        Arbitrary<Integer> perJob = Arbitraries.integers().between(1, 8);
        Arbitrary<Long> readFault = Arbitraries.longs().between(0, 4000).injectNull(0.7);
        Arbitrary<List<Long>> writeFaults = Arbitraries.longs().between(0, 4000).injectNull(0.8).list().ofSize(64);
        Arbitrary<Boolean> flag = Arbitraries.of(true, false);
        return Combinators.combine(start, count, dests, pages, subJob, perJob, readFault, writeFaults)
                .flatAs((s, c, d, p, k, j, rf, wf) -> Combinators.combine(flag, flag)
                        .as((ignore, seq) -> new Scenario(s, Math.min(c, DEVICE - s), d, p, k, j, rf, wf, ignore, seq)));
    }

    @Property(tries = 300)
    void everyGoodDestinationMatchesAndEveryFailureIsReported(@ForAll("scenarios") Scenario s) throws Exception {
        Engine engine = new Engine(EngineSettings.builder().subJobKiB(s.subJobKiB()).subJobsPerJob(s.subJobsPerJob())
                .ioThreads(3).build());
        try {
            KcopydClient client = engine.createClient(s.pages());
            FaultyDevice src = new FaultyDevice("src", DEVICE);
            src.fill(s.hashCode());
            boolean readFaultInside = s.readFault() != null && s.readFault() >= s.srcStart()
                    && s.readFault() < s.srcStart() + s.count();
            if (s.readFault() != null) {
                src.failReadsAt(s.readFault());
            }
            List<FaultyDevice> devices = new ArrayList<>();
            List<IoRegion> regions = new ArrayList<>();
            long expectedFailures = 0;
            for (int i = 0; i < s.dests(); i++) {
                FaultyDevice d = new FaultyDevice("dst" + i, DEVICE);
                long start = (s.srcStart() * 7 + i * 13L) % (DEVICE - s.count() + 1);
                Long fault = s.writeFaults().get(i);
                if (fault != null) {
                    d.failWritesAt(fault);
                    if (fault >= start && fault < start + s.count()) {
                        expectedFailures |= 1L << i;
                    }
                }
                devices.add(d);
                regions.add(IoRegion.of(d, start, s.count()));
            }
            EnumSet<CopyFlag> flags = EnumSet.noneOf(CopyFlag.class);
            if (s.ignoreError()) {
                flags.add(CopyFlag.IGNORE_ERROR);
            }
            if (s.writeSeq()) {
                flags.add(CopyFlag.WRITE_SEQ);
            }
            int[] calls = new int[1];
            CopyResult r = client.copy(IoRegion.of(src, s.srcStart(), s.count()), regions, flags,
                    (re, we, ctx) -> calls[0]++, null).toCompletableFuture().get(30, TimeUnit.SECONDS);
            client.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);

            assertThat(calls[0]).as("exactly one completion").isEqualTo(1);
            boolean keepsGoing = s.ignoreError() && !s.writeSeq();
            boolean anyFault = readFaultInside || expectedFailures != 0;
            assertThat(r.readError()).as("read error reported iff a read failed")
                    .isEqualTo(readFaultInside && (keepsGoing || expectedFailures == 0 || r.readError()));
            if (!readFaultInside) {
                assertThat(r.readError()).isFalse();
            }
            // Only destinations with a fault inside their region may be reported.
            assertThat(r.writeErrors() & ~expectedFailures).isZero();
            if (keepsGoing || !anyFault) {
                assertThat(r.writeErrors()).as("every failed destination is reported").isEqualTo(expectedFailures);
            }
            int chunk = Math.min(s.subJobKiB() / 4, s.pages()) * 8;
            for (int i = 0; i < s.dests(); i++) {
                FaultyDevice d = devices.get(i);
                IoRegion region = regions.get(i);
                assertThat(d.writes).allSatisfy(w -> assertThat(w.sector() >= region.sector()
                        && w.end() <= region.endSector()).as("write inside the region").isTrue());
                if (r.destinationFailed(i) || (!keepsGoing && anyFault)) {
                    continue;
                }
                byte[] expected = src.bytes(s.srcStart(), s.count());
                if (readFaultInside) {
                    long chunkStart = (s.readFault() - s.srcStart()) / chunk * chunk;
                    long chunkEnd = Math.min(chunkStart + chunk, s.count());
                    Arrays.fill(expected, (int) (chunkStart * 512), (int) (chunkEnd * 512), (byte) 0);
                }
                assertThat(d.bytes(region.sector(), region.count())).as("dest[" + i + "] content").isEqualTo(expected);
            }
        } finally {
            engine.close();
        }
    }
}
