package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.Peers;

/**
 * A snapshot of a sparse disk keeps its holes on the way out of the daemon, shown with real peers:
 * {@code nbdinfo --map} of the snapshot's NBD export lists the origin's data and the chunk an origin
 * write copied to the COW store, holes elsewhere; {@code copy --daemon} of {@code snapshot:NAME} and
 * of the export's URI makes backups with the snapshot's bytes that allocate only its data.
 */
class DaemonSparseIT {

    private static final int MIB = 1 << 20;
    private static final int SIZE = 64 * MIB;

    @TempDir
    Path dir;

    @Test
    void aSnapshotOfASparseDiskIsExportedAndBackedUpWithItsHoles() throws Exception {
        String qemuIo = Peers.require("qemu-io", "qemu-utils").toString();
        String nbdinfo = Peers.require("nbdinfo", "libnbd-bin").toString();
        Path state = dir.resolve("state");
        byte[] original = new byte[SIZE];
        Random random = new Random(21);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("origin.img").toFile(), "rw")) {
            f.setLength(SIZE);
            for (long at : new long[] {MIB, 40L * MIB}) {
                byte[] data = new byte[MIB];
                random.nextBytes(data);
                f.seek(at);
                f.write(data);
                System.arraycopy(data, 0, original, (int) at, MIB);
            }
        }
        String originUri = "nbd+unix:///origin?socket=" + dir.resolve("origin.sock");
        String snapUri = "nbd+unix:///snap?socket=" + dir.resolve("snap.sock");

        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "sparse")) {
            RunningDaemon.clientJson(dir, state, "snapshot", "create", "s1", "origin.img", "s1.cow");
            RunningDaemon.clientJson(dir, state, "export", "add", "origin", "origin:s1", "--socket", "origin.sock");
            RunningDaemon.clientJson(dir, state, "export", "add", "snap", "snapshot:s1", "--socket", "snap.sock");
            // 64 KiB through the origin into one of its holes: the chunks there are copied to the COW store first.
            assertThat(RunningDaemon.peer(dir, qemuIo, "-f", "raw", "-c", "write -P 0xab 10M 64K", originUri))
                    .contains("wrote 65536/65536 bytes");

            assertThat(dataRuns(RunningDaemon.peer(dir, nbdinfo, "--map", snapUri)))
                    .as("the snapshot export's data: the origin's, and the chunks copied to the COW store")
                    .containsExactly(List.of((long) MIB, (long) MIB), List.of(10L * MIB, 65536L),
                            List.of(40L * MIB, (long) MIB));

            RunningDaemon.clientOk(dir, state, "copy", "--daemon", "snapshot:s1", "backup.img");
            RunningDaemon.clientOk(dir, state, "copy", "--daemon", snapUri, "backup-nbd.img");
        }
        for (String backup : List.of("backup.img", "backup-nbd.img")) {
            Path b = dir.resolve(backup);
            assertThat(b).as("%s: the snapshot's bytes", backup).hasBinaryContent(original);
            long allocated = Long.parseLong(RunningDaemon.peer(dir, "stat", "-c", "%b", b.toString()).trim()) * 512;
            assertThat(allocated).as("%s: bytes allocated, the snapshot's 2 MiB of data", backup)
                    .isBetween(2L * MIB, 2L * MIB + 128 * 1024);
        }
    }

    /** @return the data runs of {@code nbdinfo --map} output, as [offset, length] */
    private static List<List<Long>> dataRuns(String map) {
        List<List<Long>> runs = new ArrayList<>();
        for (String line : map.strip().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[3].equals("data")) {
                runs.add(List.of(Long.parseLong(f[0]), Long.parseLong(f[1])));
            }
        }
        return runs;
    }
}
