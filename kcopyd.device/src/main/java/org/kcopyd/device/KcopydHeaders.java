package org.kcopyd.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.kcopyd.api.BlockDevice;

/**
 * Recognises the files kcopyd's bundles write a header into, by their magic numbers at their
 * documented offsets, so that one bundle refuses another's file without knowing its internals: a
 * snapshot's COW store (its magic at byte 0 of sector 0) and a mirror's region log (its magic at
 * byte 0 of each header copy: sector 0 and sector {@value #REGION_LOG_COPY_2}, or sector
 * {@value #REGION_LOG_V2_COPY_2} in a version 2 log). Only the magic number decides: a damaged
 * header or one of a newer version is still kcopyd's, and never another bundle's to overwrite.
 * The identity and the mirror's name are read where the versions known here keep them, for
 * messages, and are not checked.
 */
public final class KcopydHeaders {

    /** The magic number of a snapshot's COW store, little-endian at byte 0 of sector 0. */
    public static final long COW_STORE_MAGIC = 0x4b43504453534e50L;
    /** The magic number of a mirror's region log, little-endian at byte 0 of each header copy. */
    public static final long REGION_LOG_MAGIC = 0x4b4350594d49524cL;
    /** The sector of a region log's second header copy. */
    public static final int REGION_LOG_COPY_2 = 32;
    /** The sector of the second header copy of a region log of format version 2. */
    public static final int REGION_LOG_V2_COPY_2 = 16;
    private static final int SECTOR = BlockDevice.SECTOR_SIZE;
    private static final int ID_AT = 32;
    private static final int NAME_LENGTH_AT = 56;
    private static final int NAME_AT = 60;
    private static final int MAX_NAME = 64;
    /** The header versions whose identity (and a log's mirror name) sit at the offsets above. */
    private static final int FIRST_KNOWN = 2;
    private static final int LAST_KNOWN = 3;

    private KcopydHeaders() {
    }

    /** Whose file it is. */
    public enum Kind {
        /** A snapshot's COW store. */
        COW_STORE,
        /** A mirror's region log. */
        REGION_LOG
    }

    /**
     * A kcopyd header found on a device.
     *
     * @param kind    whose header it is
     * @param sector  the sector it starts at (a region log's copy 2 is not at 0)
     * @param version the format version it claims
     * @param id      the identity it records (cowStoreId, regionLogId), or null if its version is unknown here
     * @param mirror  a region log's mirror name, or null if unknown (or a COW store)
     */
    public record Header(Kind kind, long sector, int version, UUID id, String mirror) {

        /**
         * @return e.g. "a kcopyd COW store (cowStoreId 0f8f...)", "the region log of mirror 'm1'
         *         (regionLogId 3c1e...)", "a kcopyd region log header (version 9, at sector 32)"
         */
        public String describe() {
            if (kind == Kind.COW_STORE) {
                return id != null ? "a kcopyd COW store (cowStoreId " + id + ")"
                        : "a kcopyd COW store header (version " + version + ")";
            }
            if (id == null) {
                return "a kcopyd region log header (version " + version + ", at sector " + sector + ")";
            }
            return (mirror != null ? "the region log of mirror '" + mirror + "'" : "a kcopyd region log")
                    + " (regionLogId " + id + ")";
        }

        /** @return how a user who means to reuse the file makes it no kcopyd file: what to zero */
        public String erasure() {
            return kind == Kind.COW_STORE ? "zero its first sector"
                    : "zero its first " + 2 * REGION_LOG_COPY_2 + " sectors, its two header copies";
        }
    }

    /**
     * Reads the sectors where kcopyd headers start; writes nothing.
     *
     * @return the headers found, a COW store's first (a file that is both holds both); empty if none
     * @throws IOException if the device cannot be read
     */
    public static List<Header> read(BlockDevice device) throws IOException {
        long size = device.sizeInSectors();
        return read(sector -> sector(device, sector, size));
    }

    /**
     * As {@link #read(BlockDevice)}, of a file or block device read directly and read-only, for a
     * check before anything opens it as a device (no device is opened, no claim made).
     *
     * @return the headers found, a COW store's first; empty if none (an empty or short file too)
     * @throws IOException if the file cannot be opened or read
     */
    public static List<Header> read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(sector -> {
                ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
                while (b.hasRemaining()) {
                    if (channel.read(b, sector * SECTOR + b.position()) < 0) {
                        return null;
                    }
                }
                return b.clear();
            });
        }
    }

    /** Sector {@code sector} of what is read, little-endian, or null where it ends before that sector. */
    private interface Sectors {
        ByteBuffer sector(long sector) throws IOException;
    }

    private static List<Header> read(Sectors device) throws IOException {
        List<Header> found = new ArrayList<>();
        ByteBuffer first = device.sector(0);
        if (first == null) {
            return found;
        }
        long magic = first.getLong(0);
        if (magic == COW_STORE_MAGIC) {
            found.add(header(Kind.COW_STORE, 0, first));
        } else if (magic == REGION_LOG_MAGIC) {
            found.add(header(Kind.REGION_LOG, 0, first));
            return found;
        }
        ByteBuffer copy = device.sector(REGION_LOG_COPY_2);
        if (copy != null && copy.getLong(0) == REGION_LOG_MAGIC) {
            found.add(header(Kind.REGION_LOG, REGION_LOG_COPY_2, copy));
            return found;
        }
        copy = device.sector(REGION_LOG_V2_COPY_2);
        if (copy != null && copy.getLong(0) == REGION_LOG_MAGIC && copy.getInt(8) == FIRST_KNOWN) {
            found.add(header(Kind.REGION_LOG, REGION_LOG_V2_COPY_2, copy));
        }
        return found;
    }

    /**
     * @return the first header {@link #read} finds of {@code kind}, or null if there is none
     * @throws IOException if the device cannot be read
     */
    public static Header find(BlockDevice device, Kind kind) throws IOException {
        return read(device).stream().filter(h -> h.kind() == kind).findFirst().orElse(null);
    }

    private static Header header(Kind kind, long sector, ByteBuffer b) {
        int version = b.getInt(8);
        if (version < FIRST_KNOWN || version > LAST_KNOWN) {
            return new Header(kind, sector, version, null, null);
        }
        UUID id = new UUID(b.getLong(ID_AT), b.getLong(ID_AT + 8));
        String mirror = null;
        int length = b.getInt(NAME_LENGTH_AT);
        if (kind == Kind.REGION_LOG && length > 0 && length <= MAX_NAME) {
            try {
                mirror = StandardCharsets.UTF_8.newDecoder().decode(b.slice(NAME_AT, length)).toString();
            } catch (CharacterCodingException e) {
                mirror = null;
            }
        }
        return new Header(kind, sector, version, id, mirror);
    }

    /** @return sector {@code sector} of the device, read in whole blocks, or null if the device ends before it */
    private static ByteBuffer sector(BlockDevice device, long sector, long size) throws IOException {
        long block = Math.max(1, device.minimumBlockBytes() / SECTOR);
        long start = sector / block * block;
        if (start + block > size) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate((int) block * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        BlockIo.await(device.read(start, b));
        return b.clear().position((int) (sector - start) * SECTOR).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
