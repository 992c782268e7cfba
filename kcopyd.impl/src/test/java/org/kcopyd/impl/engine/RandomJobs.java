package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * The generator of {@link RandomCopyTest}: from one seed, a batch of jobs for one engine (its
 * settings, its clients' page counts) and for each job its regions, devices, flags and fault
 * schedule. Everything a batch does is decided here, so a seed names a batch exactly (the
 * timing of the threads aside).
 */
final class RandomJobs {

    private RandomJobs() {
    }

    /** Where a region lies: on which of the job's devices, from which sector. */
    record Placement(int device, long sector) {
        @Override
        public String toString() {
            return "d" + device + "@" + sector;
        }
    }

    /**
     * One device of a job and its fault schedule. A plain device is a {@link MemoryBlockDevice}
     * (no faults, completes at once, allocates 1 MiB segments: a fifth of the fault-free
     * devices); the others are {@link FaultyDevice}s.
     *
     * @param readFaults  sectors whose reads fail
     * @param writeFaults sectors whose writes fail
     * @param jitterMicros 0, or the longest random delay of a completion (late, out of order)
     * @param stallFrom   -1, or the request from which the device stalls for {@code stallMillis}
     */
    record DeviceSpec(long sectors, boolean plain, long fillSeed, long[] readFaults, long[] writeFaults,
            boolean failFlush, boolean throwFaults, boolean sequentialOnly, boolean zeroCommand, long jitterSeed,
            int jitterMicros, int stallFrom, int stallMillis) {

        /** @return the device's content before its job: random bytes from {@code fillSeed} */
        byte[] content() {
            byte[] bytes = new byte[(int) (sectors * BlockDevice.SECTOR_SIZE)];
            SplittableRandom random = new SplittableRandom(fillSeed);
            LongBuffer words = ByteBuffer.wrap(bytes).asLongBuffer();
            while (words.hasRemaining()) {
                words.put(random.nextLong());
            }
            return bytes;
        }

        /** @return the device, holding {@code content} */
        BlockDevice create(String name, byte[] content) {
            if (plain) {
                MemoryBlockDevice memory = new MemoryBlockDevice(name, sectors);
                memory.write(0, ByteBuffer.wrap(content)).toCompletableFuture().join();
                return memory;
            }
            FaultyDevice d = new FaultyDevice(name, content.clone());
            for (long s : readFaults) {
                d.failReadsAt(s);
            }
            for (long s : writeFaults) {
                d.failWritesAt(s);
            }
            d.failFlush = failFlush;
            d.throwFaults = throwFaults;
            d.sequentialOnly = sequentialOnly;
            d.zeroCommand = zeroCommand;
            if (jitterMicros > 0) {
                d.jitter(jitterSeed, jitterMicros);
            }
            if (stallFrom >= 0) {
                d.stall(stallFrom, stallMillis);
            }
            return d;
        }

        boolean failsRead(long from, long count) {
            return hits(readFaults, from, count);
        }

        boolean failsWrite(long from, long count) {
            return hits(writeFaults, from, count);
        }

        private static boolean hits(long[] faults, long from, long count) {
            for (long s : faults) {
                if (s >= from && s < from + count) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(sectors + " sectors");
            if (plain) {
                return b.append(" memory").toString();
            }
            if (readFaults.length > 0) {
                b.append(" readFaults=").append(Arrays.toString(readFaults));
            }
            if (writeFaults.length > 0) {
                b.append(" writeFaults=").append(Arrays.toString(writeFaults));
            }
            b.append(failFlush ? " failFlush" : "").append(throwFaults ? " throws" : "")
                    .append(sequentialOnly ? " sequentialOnly" : "").append(zeroCommand ? "" : " noWriteZeroes");
            if (jitterMicros > 0) {
                b.append(" jitter<=").append(jitterMicros).append("us");
            }
            if (stallFrom >= 0) {
                b.append(" stall from request ").append(stallFrom).append(" for ").append(stallMillis).append("ms");
            }
            return b.toString();
        }
    }

    /**
     * One job: a copy (or a zero job when {@code source} is null) of {@code count} sectors.
     *
     * @param client the index of the batch's client that runs it
     */
    record JobSpec(int client, Set<CopyFlag> flags, long count, Placement source, List<Placement> dests,
            List<DeviceSpec> devices) {

        boolean isZero() {
            return source == null;
        }

        DeviceSpec device(Placement p) {
            return devices.get(p.device());
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(isZero() ? "zero" : "copy").append(" of ").append(count)
                    .append(" sectors on client ").append(client).append(", flags ").append(flags);
            if (!isZero()) {
                b.append(", source ").append(source);
            }
            b.append(", ").append(dests.size()).append(" dests ").append(dests);
            for (int i = 0; i < devices.size(); i++) {
                b.append("\n      d").append(i).append(": ").append(devices.get(i));
            }
            return b.toString();
        }
    }

    /** A batch: one engine with these settings and clients of these page counts, running these jobs. */
    record Batch(long seed, EngineSettings settings, int[] pages, List<JobSpec> jobs) {
        @Override
        public String toString() {
            return "batch " + seed + ": " + settings + ", clients with pages " + Arrays.toString(pages) + ", "
                    + jobs.size() + " jobs";
        }
    }

    /** The seed of the batch after the one of {@code seed} (SplitMix64's step and mix). */
    static long next(long seed) {
        long z = seed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static Batch batch(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        EngineSettings settings = EngineSettings.builder()
                .subJobKiB(4 * pick(r, 1, 1, 2, 2, 3, 4, 8, 16, 32))
                .subJobsPerJob(r.nextInt(8) == 0 ? 1 + r.nextInt(16) : 1 + r.nextInt(6))
                .ioThreads(1 + r.nextInt(4))
                .maxQueuedJobs(r.nextInt(4) == 0 ? 1 + r.nextInt(8) : 4096)
                .build();
        int[] pages = new int[1 + r.nextInt(3)];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = pick(r, 1, 1, 2, 3, 4, 8, 16, 32, 64, 128);
        }
        List<JobSpec> jobs = new ArrayList<>();
        int n = 1 + r.nextInt(40);
        for (int i = 0; i < n; i++) {
            jobs.add(job(r, pages.length));
        }
        return new Batch(seed, settings, pages, List.copyOf(jobs));
    }

    private static JobSpec job(SplittableRandom r, int clients) {
        boolean zero = r.nextInt(10) == 0;
        Set<CopyFlag> flags = EnumSet.noneOf(CopyFlag.class);
        if (r.nextBoolean()) {
            flags.add(CopyFlag.IGNORE_ERROR);
        }
        if (r.nextInt(5) == 0) {
            flags.add(CopyFlag.WRITE_SEQ);
        }
        if (r.nextInt(4) == 0) {
            flags.add(CopyFlag.FLUSH);
        }
        int p = r.nextInt(100);
        int dests = p < 35 ? 1 : p < 70 ? 2 + r.nextInt(3) : p < 90 ? 5 + r.nextInt(12) : 17 + r.nextInt(48);
        long maxCount = dests > 16 ? 64 : dests > 4 ? 256 : 1024;
        p = r.nextInt(100);
        long count = p < 25 ? 1 + r.nextInt(8) : p < 65 ? 1 + r.nextInt(64) : p < 90 ? 1 + r.nextInt(256)
                : 1 + r.nextLong(maxCount);
        count = Math.min(count, maxCount);

        // Regions: the source first (a copy), then the destinations; each on one of the devices.
        int regions = dests + (zero ? 0 : 1);
        // Mostly a few devices shared by the regions, now and then one device per region.
        p = r.nextInt(100);
        int devices = 1 + r.nextInt(p < 60 ? Math.min(regions, 3) : p < 95 ? Math.min(regions, 8) : regions);
        int[] deviceOf = new int[regions];
        for (int i = 1; i < regions; i++) {
            deviceOf[i] = r.nextInt(devices);
        }
        deviceOf[0] = zero ? r.nextInt(devices) : 0;
        int[] renumber = new int[devices];
        Arrays.fill(renumber, -1);
        int used = 0;
        for (int i = 0; i < regions; i++) {
            if (renumber[deviceOf[i]] < 0) {
                renumber[deviceOf[i]] = used++;
            }
            deviceOf[i] = renumber[deviceOf[i]];
        }
        // Lay each device's regions out in a random order with random gaps: they never overlap.
        long[] start = new long[regions];
        long[] size = new long[used];
        for (int d = 0; d < used; d++) {
            List<Integer> here = new ArrayList<>();
            for (int i = 0; i < regions; i++) {
                if (deviceOf[i] == d) {
                    here.add(i);
                }
            }
            shuffle(r, here);
            long pos = 0;
            for (int i : here) {
                pos += r.nextInt(4) == 0 ? 0 : r.nextInt(16);
                start[i] = pos;
                pos += count;
            }
            size[d] = pos + r.nextInt(16);
        }
        Placement source = zero ? null : new Placement(deviceOf[0], start[0]);
        List<Placement> destPlaces = new ArrayList<>();
        for (int i = zero ? 0 : 1; i < regions; i++) {
            destPlaces.add(new Placement(deviceOf[i], start[i]));
        }

        // The fault schedule: read faults on the source device, write faults on destination devices.
        List<List<Long>> readFaults = new ArrayList<>();
        List<List<Long>> writeFaults = new ArrayList<>();
        for (int d = 0; d < used; d++) {
            readFaults.add(new ArrayList<>());
            writeFaults.add(new ArrayList<>());
        }
        if (!zero) {
            p = r.nextInt(100);
            int k = p < 65 ? 0 : p < 90 ? 1 : 2 + r.nextInt(2);
            for (int i = 0; i < k; i++) {
                readFaults.get(source.device()).add(r.nextInt(100) < 85 ? source.sector() + r.nextLong(count)
                        : r.nextLong(size[source.device()]));
            }
        }
        p = r.nextInt(100);
        int k = p < 60 ? 0 : p < 85 ? 1 : 2 + r.nextInt(3);
        for (int i = 0; i < k; i++) {
            Placement d = destPlaces.get(r.nextInt(destPlaces.size()));
            writeFaults.get(d.device()).add(r.nextInt(100) < 85 ? d.sector() + r.nextLong(count)
                    : r.nextLong(size[d.device()]));
        }
        List<DeviceSpec> specs = new ArrayList<>();
        for (int d = 0; d < used; d++) {
            boolean faults = !readFaults.get(d).isEmpty() || !writeFaults.get(d).isEmpty();
            boolean plain = !faults && r.nextInt(5) == 0;
            p = r.nextInt(100);
            int jitter = p < 45 ? 0 : p < 85 || r.nextBoolean() ? 1 + r.nextInt(200) : 0;
            boolean stall = p >= 85;
            boolean failFlush = r.nextInt(30) == 0;
            boolean throwFaults = r.nextInt(6) == 0;
            boolean sequentialOnly = r.nextInt(25) == 0;
            boolean zeroCommand = r.nextBoolean();
            long jitterSeed = r.nextLong();
            int stallFrom = r.nextInt(4);
            int stallMillis = 1 + r.nextInt(4);
            specs.add(plain ? new DeviceSpec(size[d], true, r.nextLong(), new long[0], new long[0], false, false, false,
                    true, 0, 0, -1, 0)
                    : new DeviceSpec(size[d], false, r.nextLong(), longs(readFaults.get(d)), longs(writeFaults.get(d)),
                            failFlush, throwFaults, sequentialOnly, zeroCommand, jitterSeed, jitter,
                            stall ? stallFrom : -1, stallMillis));
        }
        return new JobSpec(r.nextInt(clients), Collections.unmodifiableSet(flags), count, source,
                List.copyOf(destPlaces), List.copyOf(specs));
    }

    private static long[] longs(List<Long> list) {
        return list.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    private static int pick(SplittableRandom r, int... values) {
        return values[r.nextInt(values.length)];
    }

    private static void shuffle(SplittableRandom r, List<Integer> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            list.set(j, list.set(i, list.get(j)));
        }
    }
}
