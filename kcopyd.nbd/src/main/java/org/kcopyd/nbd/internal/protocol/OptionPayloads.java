package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Encoders and decoders of the option data and option reply data this implementation uses. */
public final class OptionPayloads {

    private OptionPayloads() {
    }

    /**
     * The data of {@code NBD_OPT_INFO} and {@code NBD_OPT_GO}.
     *
     * @param exportName the export's name ("" = the default export)
     * @param infos      the {@code NBD_INFO_*} items requested
     */
    public record InfoRequest(String exportName, List<Integer> infos) {

        /** @return the option data */
        public ByteBuffer encode() {
            byte[] name = Strings.encode("export name", exportName);
            ByteBuffer out = ByteBuffer.allocate(4 + name.length + 2 + 2 * infos.size());
            out.putInt(name.length).put(name).putShort((short) infos.size());
            infos.forEach(info -> out.putShort(info.shortValue()));
            return out.flip();
        }

        /** Reads the whole option data; anything malformed is a {@link ProtocolException}. */
        public static InfoRequest decode(ByteBuffer in) throws ProtocolException {
            long nameLength = readLength(in, "export name length", 2);
            String name = Strings.decode("export name", in, nameLength);
            if (in.remaining() < 2) {
                throw new ProtocolException("information request count missing after the export name");
            }
            int count = Short.toUnsignedInt(in.getShort());
            if (in.remaining() != 2 * count) {
                throw new ProtocolException(count + " information requests need " + 2 * count + " bytes, the option has "
                    + in.remaining());
            }
            List<Integer> infos = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                infos.add(Short.toUnsignedInt(in.getShort()));
            }
            return new InfoRequest(name, List.copyOf(infos));
        }
    }

    /**
     * The data of {@code NBD_OPT_LIST_META_CONTEXT} and {@code NBD_OPT_SET_META_CONTEXT}.
     *
     * @param exportName the export's name
     * @param queries    the queries, e.g. {@code base:allocation}
     */
    public record MetaContextRequest(String exportName, List<String> queries) {

        /** @return the option data */
        public ByteBuffer encode() {
            byte[] name = Strings.encode("export name", exportName);
            List<byte[]> encoded = new ArrayList<>();
            int size = 4 + name.length + 4;
            for (String query : queries) {
                byte[] bytes = Strings.encode("meta context query", query);
                encoded.add(bytes);
                size += 4 + bytes.length;
            }
            ByteBuffer out = ByteBuffer.allocate(size);
            out.putInt(name.length).put(name).putInt(encoded.size());
            encoded.forEach(bytes -> out.putInt(bytes.length).put(bytes));
            return out.flip();
        }

        /** Reads the whole option data; anything malformed is a {@link ProtocolException}. */
        public static MetaContextRequest decode(ByteBuffer in) throws ProtocolException {
            long nameLength = readLength(in, "export name length", 4);
            String name = Strings.decode("export name", in, nameLength);
            if (in.remaining() < 4) {
                throw new ProtocolException("query count missing after the export name");
            }
            long count = Integer.toUnsignedLong(in.getInt());
            if (count > in.remaining() / 4) {
                throw new ProtocolException(count + " queries cannot fit in the option's remaining " + in.remaining()
                    + " bytes");
            }
            List<String> queries = new ArrayList<>();
            for (long i = 0; i < count; i++) {
                long length = readLength(in, "query length", 0);
                queries.add(Strings.decode("meta context query", in, length));
            }
            if (in.hasRemaining()) {
                throw new ProtocolException(in.remaining() + " bytes follow the last query");
            }
            return new MetaContextRequest(name, List.copyOf(queries));
        }
    }

    private static long readLength(ByteBuffer in, String what, int needAfter) throws ProtocolException {
        if (in.remaining() < 4) {
            throw new ProtocolException(what + " missing: the option has " + in.remaining() + " bytes left");
        }
        long length = Integer.toUnsignedLong(in.getInt());
        if (length > in.remaining() - needAfter) {
            throw new ProtocolException(what + " " + length + " overruns the option's remaining " + in.remaining()
                + " bytes");
        }
        return length;
    }

    /** @return the data of an {@code NBD_REP_INFO} of type {@code NBD_INFO_EXPORT} */
    public static ByteBuffer infoExport(long size, int transmissionFlags) {
        return ByteBuffer.allocate(12).putShort((short) Nbd.INFO_EXPORT).putLong(size)
            .putShort((short) transmissionFlags).flip();
    }

    /** @return the data of an {@code NBD_REP_INFO} of type {@code NBD_INFO_BLOCK_SIZE} */
    public static ByteBuffer infoBlockSize(int minimum, int preferred, int maximum) {
        return ByteBuffer.allocate(14).putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(minimum).putInt(preferred)
            .putInt(maximum).flip();
    }

    /** @return the data of an {@code NBD_REP_SERVER}: the export's name */
    public static ByteBuffer server(String exportName) {
        byte[] name = Strings.encode("export name", exportName);
        return ByteBuffer.allocate(4 + name.length).putInt(name.length).put(name).flip();
    }

    /** @return the data of an {@code NBD_REP_META_CONTEXT} */
    public static ByteBuffer metaContext(int id, String name) {
        byte[] bytes = Strings.encode("meta context name", name);
        return ByteBuffer.allocate(4 + bytes.length).putInt(id).put(bytes).flip();
    }

    /** @return the export name of an {@code NBD_REP_SERVER}'s data */
    public static String decodeServer(ByteBuffer in) throws ProtocolException {
        long length = readLength(in, "export name length", 0);
        return Strings.decode("export name", in, length);
    }

    /**
     * An {@code NBD_REP_META_CONTEXT}'s data.
     *
     * @param id   the context's id for block status replies
     * @param name the context's name
     */
    public record MetaContext(int id, String name) {

        /** Reads the whole reply data. */
        public static MetaContext decode(ByteBuffer in) throws ProtocolException {
            if (in.remaining() < 4) {
                throw new ProtocolException("NBD_REP_META_CONTEXT of " + in.remaining() + " bytes is shorter than 4");
            }
            int id = in.getInt();
            return new MetaContext(id, Strings.decode("meta context name", in, in.remaining()));
        }
    }
}
