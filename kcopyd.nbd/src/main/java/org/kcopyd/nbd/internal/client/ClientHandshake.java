package org.kcopyd.nbd.internal.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.List;

import javax.net.ssl.SSLException;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.protocol.ChannelReader;
import org.kcopyd.nbd.internal.protocol.Channels;
import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.OptionHeader;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.InfoRequest;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.MetaContext;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.MetaContextRequest;
import org.kcopyd.nbd.internal.protocol.OptionReplyHeader;
import org.kcopyd.nbd.internal.protocol.ProtocolException;
import org.kcopyd.nbd.internal.protocol.Strings;
import org.kcopyd.nbd.internal.protocol.Wire;
import org.kcopyd.nbd.internal.tls.TlsFailure;
import org.kcopyd.nbd.internal.tls.TlsFiles;
import org.kcopyd.nbd.internal.tls.TlsWire;

/**
 * The client side of the fixed newstyle negotiation: {@code NBD_OPT_STRUCTURED_REPLY}, then
 * {@code NBD_OPT_SET_META_CONTEXT base:allocation}, then {@code NBD_OPT_GO} asking for
 * {@code NBD_INFO_BLOCK_SIZE}; {@code NBD_OPT_EXPORT_NAME} only if the server does not know GO.
 * Oldstyle and plain newstyle servers are refused.
 *
 * <p>With TLS ({@code nbds}), {@code NBD_OPT_STARTTLS} comes first, then the TLS handshake on the
 * same socket, then everything else inside TLS; a server that refuses STARTTLS is refused. A
 * server that answers an option with {@code NBD_REP_ERR_TLS_REQD} is refused with a message
 * saying to use {@code nbds}.
 */
final class ClientHandshake {

    private static final int MAX_REPLY = 64 * 1024;

    private final SocketChannel socket;
    private final String where;
    private final TlsFiles.Client tls;
    private final String tlsHost;
    private final int tlsPort;
    private final int readBuffer;
    private Wire channel;
    private ChannelReader in;

    /**
     * @param where   the URI, for messages
     * @param tls     the client's TLS, or null for a plain connection
     * @param tlsHost the host name checked against the server's certificate (null: none, e.g. Unix sockets)
     * @param tlsPort the TCP port, or 0
     */
    ClientHandshake(SocketChannel socket, int readBuffer, String where, TlsFiles.Client tls, String tlsHost,
                    int tlsPort) {
        this.socket = socket;
        this.channel = Wire.plain(socket);
        this.in = new ChannelReader(channel, readBuffer);
        this.readBuffer = readBuffer;
        this.where = where;
        this.tls = tls;
        this.tlsHost = tlsHost;
        this.tlsPort = tlsPort;
    }

    /** @return the connection's stream after the negotiation: TLS if it was started */
    Wire wire() {
        return channel;
    }

    /** @return the reader of {@link #wire()}, holding what was read past the negotiation */
    ChannelReader reader() {
        return in;
    }

    ExportInfo negotiate(String exportName) throws IOException {
        ByteBuffer greeting = in.require(18, "the server's greeting");
        long magic = greeting.getLong();
        long second = greeting.getLong();
        if (magic != Nbd.NBDMAGIC) {
            throw new ProtocolException(where + " is not an NBD server: greeting magic 0x" + Long.toHexString(magic)
                + " is not NBDMAGIC 0x" + Long.toHexString(Nbd.NBDMAGIC));
        }
        if (second == Nbd.CLISERV_MAGIC) {
            throw new ProtocolException(where + " uses the oldstyle negotiation, which is not supported");
        }
        if (second != Nbd.IHAVEOPT) {
            throw new ProtocolException(where + ": greeting's second magic 0x" + Long.toHexString(second)
                + " is not IHAVEOPT 0x" + Long.toHexString(Nbd.IHAVEOPT));
        }
        int serverFlags = Short.toUnsignedInt(greeting.getShort());
        if ((serverFlags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
            throw new ProtocolException(where + " does not offer the fixed newstyle negotiation (handshake flags 0x"
                + Integer.toHexString(serverFlags) + "), which this client requires");
        }
        boolean noZeroes = (serverFlags & Nbd.FLAG_NO_ZEROES) != 0;
        int clientFlags = Nbd.FLAG_C_FIXED_NEWSTYLE | (noZeroes ? Nbd.FLAG_C_NO_ZEROES : 0);
        Channels.writeFully(channel, ByteBuffer.allocate(4).putInt(clientFlags).flip());
        if (tls != null) {
            startTls();
        }

        boolean structured = simpleOption(Nbd.OPT_STRUCTURED_REPLY);
        long contextId = -1;
        if (structured) {
            contextId = setMetaContext(exportName);
        }
        sendOption(Nbd.OPT_GO, new InfoRequest(exportName, List.of(Nbd.INFO_BLOCK_SIZE)).encode());
        long size = -1;
        int flags = 0;
        // The spec's default where the server advertises no constraints.
        int minimum = 1;
        int preferred = 4096;
        long maximum = Nbd.MAX_PORTABLE_BLOCK;
        while (true) {
            OptionReplyHeader reply = readReply(Nbd.OPT_GO);
            ByteBuffer data = readReplyData(reply);
            if (reply.type() == Nbd.REP_INFO) {
                if (data.remaining() < 2) {
                    throw new ProtocolException(where + ": NBD_REP_INFO of " + data.remaining() + " bytes");
                }
                int info = Short.toUnsignedInt(data.getShort());
                if (info == Nbd.INFO_EXPORT) {
                    expectLength(data, 10, "NBD_INFO_EXPORT");
                    size = data.getLong();
                    flags = Short.toUnsignedInt(data.getShort());
                } else if (info == Nbd.INFO_BLOCK_SIZE) {
                    expectLength(data, 12, "NBD_INFO_BLOCK_SIZE");
                    minimum = data.getInt();
                    preferred = data.getInt();
                    maximum = Integer.toUnsignedLong(data.getInt());
                }
            } else if (reply.type() == Nbd.REP_ACK) {
                if (size < 0) {
                    throw new ProtocolException(where + ": NBD_OPT_GO succeeded without NBD_INFO_EXPORT");
                }
                break;
            } else if (reply.type() == Nbd.REP_ERR_UNSUP) {
                return exportName(exportName, noZeroes, structured);
            } else if (reply.type() == Nbd.REP_ERR_UNKNOWN) {
                throw new IOException(where + ": the server has no export '" + exportName + "'" + serverSays(data));
            } else if (reply.isError()) {
                throw new IOException(where + ": NBD_OPT_GO for export '" + exportName + "' refused with "
                    + Nbd.replyName(reply.type()) + serverSays(data));
            } else {
                throw new ProtocolException(where + ": unexpected " + Nbd.replyName(reply.type()) + " to NBD_OPT_GO");
            }
        }
        return info(size, flags, minimum, preferred, maximum, structured, contextId);
    }

    private void startTls() throws IOException {
        sendOption(Nbd.OPT_STARTTLS, ByteBuffer.allocate(0));
        OptionReplyHeader reply = readReply(Nbd.OPT_STARTTLS);
        ByteBuffer data = readReplyData(reply);
        if (reply.type() != Nbd.REP_ACK) {
            throw new IOException(where + ": the server does not support TLS: it answered NBD_OPT_STARTTLS with "
                + Nbd.replyName(reply.type()) + serverSays(data));
        }
        if (in.buffered() > 0) {
            throw new ProtocolException(where + ": the server sent " + in.buffered() + " bytes after accepting"
                + " NBD_OPT_STARTTLS, before the TLS handshake");
        }
        try {
            channel = TlsWire.handshake(socket, tls.newEngine(tlsHost, tlsPort));
        } catch (SSLException e) {
            throw new IOException(where + ": " + TlsFailure.clientSide(e, tls.trustedBy(), tlsHost), e);
        }
        in = new ChannelReader(channel, readBuffer);
    }

    /**
     * @param serverMinimum the minimum block size the server advertised (1 if none): the device
     *                      takes whole sectors at least, the bytes past the last one by this
     */
    private ExportInfo info(long size, int flags, int serverMinimum, int preferred, long maximum, boolean structured,
                            long contextId) throws IOException {
        if (Integer.bitCount(serverMinimum) != 1 || serverMinimum > 65536) {
            throw new ProtocolException(where + ": minimum block size " + serverMinimum
                + " is not a power of two up to 65536");
        }
        long tail = size % BlockDevice.SECTOR_SIZE;
        if (size < 0 || tail % serverMinimum != 0) {
            throw new IOException(where + ": export size " + size + " bytes is not a multiple of the server's minimum "
                + "block size " + serverMinimum + "; it cannot be used as a block device");
        }
        int minimum = Math.max(BlockDevice.SECTOR_SIZE, serverMinimum);
        long max = Math.min(maximum, Nbd.MAX_PORTABLE_BLOCK);
        max -= max % minimum;
        if (max < minimum) {
            throw new ProtocolException(where + ": maximum block size " + maximum + " is below the minimum " + minimum);
        }
        return new ExportInfo(size, flags, minimum, serverMinimum, Math.max(preferred, minimum), (int) max, structured,
            contextId);
    }

    private ExportInfo exportName(String exportName, boolean noZeroes, boolean structured) throws IOException {
        sendOption(Nbd.OPT_EXPORT_NAME, ByteBuffer.wrap(Strings.encode("export name", exportName)));
        int length = 10 + (noZeroes ? 0 : Nbd.EXPORT_NAME_PADDING);
        ByteBuffer answer = in.require(length, "the answer to NBD_OPT_EXPORT_NAME (the server closes the connection"
            + " if export '" + exportName + "' does not exist)");
        long size = answer.getLong();
        int flags = Short.toUnsignedInt(answer.getShort());
        in.skip(length - 10L, "padding");
        return info(size, flags, 1, 4096, Nbd.MAX_PORTABLE_BLOCK, structured, -1);
    }

    /** Sends an option without data; true on ACK, false on NBD_REP_ERR_UNSUP or another error. */
    private boolean simpleOption(int option) throws IOException {
        sendOption(option, ByteBuffer.allocate(0));
        OptionReplyHeader reply = readReply(option);
        readReplyData(reply);
        return reply.type() == Nbd.REP_ACK;
    }

    private long setMetaContext(String exportName) throws IOException {
        sendOption(Nbd.OPT_SET_META_CONTEXT, new MetaContextRequest(exportName, List.of(Nbd.BASE_ALLOCATION)).encode());
        long id = -1;
        while (true) {
            OptionReplyHeader reply = readReply(Nbd.OPT_SET_META_CONTEXT);
            ByteBuffer data = readReplyData(reply);
            if (reply.type() == Nbd.REP_META_CONTEXT) {
                MetaContext context = MetaContext.decode(data);
                if (context.name().equals(Nbd.BASE_ALLOCATION)) {
                    id = Integer.toUnsignedLong(context.id());
                }
            } else if (reply.type() == Nbd.REP_ACK) {
                return id;
            } else {
                // An error here only means no block status; GO will tell whether the export exists.
                return -1;
            }
        }
    }

    private void sendOption(int option, ByteBuffer data) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(Nbd.OPTION_HEADER_SIZE);
        new OptionHeader(option, data.remaining()).encode(header);
        Channels.writeFully(channel, header.flip(), data);
    }

    private OptionReplyHeader readReply(int option) throws IOException {
        OptionReplyHeader reply = OptionReplyHeader.decode(in.require(Nbd.OPTION_REPLY_HEADER_SIZE,
            "the reply to " + Nbd.optionName(option)));
        if (reply.option() != option) {
            throw new ProtocolException(where + ": reply for " + Nbd.optionName(reply.option()) + " while waiting for "
                + Nbd.optionName(option));
        }
        if (reply.type() == Nbd.REP_ERR_TLS_REQD) {
            throw new IOException(where + ": the server requires TLS (it answered " + Nbd.optionName(option)
                + " with NBD_REP_ERR_TLS_REQD): use an nbds:// or nbds+unix:// URI, with tls-certificates=DIR"
                + " naming the directory that holds the server's " + TlsFiles.CA_CERT);
        }
        if (reply.length() > MAX_REPLY) {
            throw new ProtocolException(where + ": reply of " + reply.length() + " bytes to " + Nbd.optionName(option)
                + " is over the limit " + MAX_REPLY);
        }
        return reply;
    }

    private ByteBuffer readReplyData(OptionReplyHeader reply) throws IOException {
        ByteBuffer data = ByteBuffer.allocate((int) reply.length());
        in.readFully(data, "the data of " + Nbd.replyName(reply.type()));
        return data.flip();
    }

    private void expectLength(ByteBuffer data, int length, String what) throws ProtocolException {
        if (data.remaining() != length) {
            throw new ProtocolException(where + ": " + what + " has " + (data.remaining() + 2) + " bytes, expected "
                + (length + 2));
        }
    }

    private static String serverSays(ByteBuffer data) {
        String message = Strings.lenient(data, data.remaining());
        return message.isEmpty() ? "" : " (the server says: " + message + ")";
    }
}
