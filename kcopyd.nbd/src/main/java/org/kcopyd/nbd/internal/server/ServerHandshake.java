package org.kcopyd.nbd.internal.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

import org.kcopyd.nbd.internal.protocol.Channels;
import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.OptionHeader;
import org.kcopyd.nbd.internal.protocol.OptionPayloads;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.InfoRequest;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.MetaContextRequest;
import org.kcopyd.nbd.internal.protocol.OptionReplyHeader;
import org.kcopyd.nbd.internal.protocol.ProtocolException;
import org.kcopyd.nbd.internal.protocol.Strings;
import org.kcopyd.nbd.internal.protocol.Wire;
import org.kcopyd.nbd.internal.tls.TlsWire;

/**
 * The server side of the fixed newstyle negotiation, on a blocking channel: options
 * {@code GO}, {@code INFO}, {@code EXPORT_NAME}, {@code LIST}, {@code STRUCTURED_REPLY},
 * {@code LIST_META_CONTEXT}, {@code SET_META_CONTEXT} ({@code base:allocation}) and
 * {@code ABORT}; any other option gets {@code NBD_REP_ERR_UNSUP}. A broken rule the client
 * cannot be told about (bad magic, unknown client flags, an option longer than the limit, an
 * unknown export with {@code EXPORT_NAME}) ends the connection with a {@link ProtocolException}.
 *
 * <p>With TLS configured, TLS is required (the spec's FORCEDTLS): before {@code NBD_OPT_STARTTLS}
 * only it and {@code NBD_OPT_ABORT} are served, every other option is answered
 * {@code NBD_REP_ERR_TLS_REQD} and {@code NBD_OPT_EXPORT_NAME} (which cannot be answered with an
 * error) disconnects; nothing about the exports is revealed. STARTTLS is answered
 * {@code NBD_REP_ACK}, then the TLS handshake runs on the same socket and the negotiation goes on
 * inside TLS; STARTTLS again, or with data, gets {@code NBD_REP_ERR_INVALID}. Without TLS
 * configured, STARTTLS gets {@code NBD_REP_ERR_UNSUP} as any unknown option.
 */
final class ServerHandshake {

    private static final System.Logger LOG = System.getLogger(ServerHandshake.class.getName());

    /** The context id this server gives {@code base:allocation}. */
    static final int BASE_ALLOCATION_ID = 1;

    /**
     * What the negotiation agreed.
     *
     * @param export      the export to serve
     * @param structured  true if structured replies were negotiated
     * @param blockStatus true if {@code base:allocation} was selected for this export
     */
    record Agreement(ServerExport export, boolean structured, boolean blockStatus) {
    }

    private final SocketChannel socket;
    private final String peer;
    private Wire channel;
    private final Exports exports;
    private final ServerSettings settings;
    private final ByteBuffer header = ByteBuffer.allocate(Nbd.OPTION_REPLY_HEADER_SIZE);
    private boolean structured;
    private boolean noZeroes;
    private String metaContextExport;

    ServerHandshake(SocketChannel socket, Exports exports, ServerSettings settings, String peer) {
        this.socket = socket;
        this.channel = Wire.plain(socket);
        this.peer = peer;
        this.exports = exports;
        this.settings = settings;
    }

    /** @return the connection's stream: TLS once STARTTLS succeeded */
    Wire wire() {
        return channel;
    }

    /**
     * Runs the negotiation.
     *
     * @return the agreement, or null if the client aborted
     */
    Agreement run() throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18).putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
            .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip();
        Channels.writeFully(channel, greeting);
        ByteBuffer clientFlags = ByteBuffer.allocate(4);
        Channels.readFully(channel, clientFlags, "the client flags");
        int flags = clientFlags.flip().getInt();
        int known = Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES;
        if ((flags & ~known) != 0) {
            throw new ProtocolException("client flags 0x" + Integer.toHexString(flags)
                + " set bits this server does not know (known: 0x" + Integer.toHexString(known) + ")");
        }
        noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;
        ByteBuffer optionHeader = ByteBuffer.allocate(Nbd.OPTION_HEADER_SIZE);
        while (true) {
            optionHeader.clear();
            Channels.readFully(channel, optionHeader, "an option header");
            OptionHeader option = OptionHeader.decode(optionHeader.flip());
            if (option.length() > settings.maxOptionLength()) {
                throw new ProtocolException(Nbd.optionName(option.option()) + " data length " + option.length()
                    + " bytes is over the limit " + settings.maxOptionLength() + " bytes");
            }
            ByteBuffer data = ByteBuffer.allocate((int) option.length());
            Channels.readFully(channel, data, Nbd.optionName(option.option()) + " data");
            data.flip();
            if (settings.tls() != null && !channel.secure()) {
                if (beforeTls(option.option(), data)) {
                    return null;
                }
                continue;
            }
            Agreement agreement = answer(option.option(), data);
            if (agreement != null) {
                return agreement;
            }
            if (option.option() == Nbd.OPT_ABORT) {
                return null;
            }
        }
    }

    /** Serves an option before TLS when TLS is required; true if the client aborted. */
    private boolean beforeTls(int option, ByteBuffer data) throws IOException {
        switch (option) {
            case Nbd.OPT_STARTTLS -> {
                if (data.hasRemaining()) {
                    error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data, got " + data.remaining()
                        + " bytes");
                    return false;
                }
                reply(option, Nbd.REP_ACK, null);
                TlsWire tls = TlsWire.handshake(socket, settings.tls().newEngine());
                channel = tls;
                LOG.log(System.Logger.Level.DEBUG, () -> "NBD client " + peer + ": TLS started (" + tls.describe() + ")");
                structured = false;
                metaContextExport = null;
                return false;
            }
            case Nbd.OPT_ABORT -> {
                reply(option, Nbd.REP_ACK, null);
                return true;
            }
            case Nbd.OPT_EXPORT_NAME -> throw new ProtocolException("NBD_OPT_EXPORT_NAME before NBD_OPT_STARTTLS: this"
                + " server requires TLS");
            default -> {
                error(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS: send NBD_OPT_STARTTLS before "
                    + Nbd.optionName(option));
                return false;
            }
        }
    }

    private Agreement answer(int option, ByteBuffer data) throws IOException {
        switch (option) {
            case Nbd.OPT_STARTTLS:
                if (settings.tls() == null) {
                    error(option, Nbd.REP_ERR_UNSUP, "this server does not offer TLS");
                } else {
                    error(option, Nbd.REP_ERR_INVALID, "TLS is already started on this connection");
                }
                return null;
            case Nbd.OPT_EXPORT_NAME:
                return exportName(data);
            case Nbd.OPT_GO:
            case Nbd.OPT_INFO:
                return info(option, data);
            case Nbd.OPT_ABORT:
                reply(option, Nbd.REP_ACK, null);
                return null;
            case Nbd.OPT_LIST:
                list(data);
                return null;
            case Nbd.OPT_STRUCTURED_REPLY:
                if (data.hasRemaining()) {
                    error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data, got " + data.remaining()
                        + " bytes");
                } else {
                    structured = true;
                    reply(option, Nbd.REP_ACK, null);
                }
                return null;
            case Nbd.OPT_LIST_META_CONTEXT:
            case Nbd.OPT_SET_META_CONTEXT:
                metaContext(option, data);
                return null;
            default:
                error(option, Nbd.REP_ERR_UNSUP, Nbd.optionName(option) + " is not supported by this server");
                return null;
        }
    }

    private Agreement exportName(ByteBuffer data) throws IOException {
        String name = Strings.decode("export name", data, data.remaining());
        ServerExport export = exports.find(name);
        if (export == null) {
            throw new ProtocolException("NBD_OPT_EXPORT_NAME asked for export '" + name + "', which does not exist"
                + " (exports: " + exports.names() + ")");
        }
        ByteBuffer answer = ByteBuffer.allocate(10 + (noZeroes ? 0 : Nbd.EXPORT_NAME_PADDING));
        answer.putLong(export.sizeBytes()).putShort((short) export.transmissionFlags(structured));
        Channels.writeFully(channel, answer.clear());
        return new Agreement(export, structured, structured && name.equals(metaContextExport));
    }

    private Agreement info(int option, ByteBuffer data) throws IOException {
        InfoRequest request;
        try {
            request = InfoRequest.decode(data);
        } catch (ProtocolException e) {
            error(option, Nbd.REP_ERR_INVALID, e.getMessage());
            return null;
        }
        ServerExport export = exports.find(request.exportName());
        if (export == null) {
            error(option, Nbd.REP_ERR_UNKNOWN, "export '" + request.exportName() + "' does not exist (exports: "
                + exports.names() + ")");
            return null;
        }
        reply(option, Nbd.REP_INFO, OptionPayloads.infoExport(export.sizeBytes(), export.transmissionFlags(structured)));
        int minBlock = export.minimumBlock();
        int maxBlock = (int) Math.min(settings.maxBlockSize(), Math.max(minBlock, export.sizeBytes()));
        maxBlock -= maxBlock % minBlock;
        int preferred = Math.min(settings.preferredBlockSize(), Integer.highestOneBit(maxBlock));
        reply(option, Nbd.REP_INFO, OptionPayloads.infoBlockSize(minBlock, Math.max(minBlock, preferred), maxBlock));
        reply(option, Nbd.REP_ACK, null);
        if (option == Nbd.OPT_INFO) {
            return null;
        }
        return new Agreement(export, structured, structured && request.exportName().equals(metaContextExport));
    }

    private void list(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            error(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST takes no data, got " + data.remaining() + " bytes");
            return;
        }
        for (ServerExport export : exports.all()) {
            reply(Nbd.OPT_LIST, Nbd.REP_SERVER, OptionPayloads.server(export.name()));
        }
        reply(Nbd.OPT_LIST, Nbd.REP_ACK, null);
    }

    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        if (set) {
            metaContextExport = null;
        }
        if (!structured) {
            error(option, Nbd.REP_ERR_INVALID, Nbd.optionName(option) + " needs NBD_OPT_STRUCTURED_REPLY first");
            return;
        }
        MetaContextRequest request;
        try {
            request = MetaContextRequest.decode(data);
        } catch (ProtocolException e) {
            error(option, Nbd.REP_ERR_INVALID, e.getMessage());
            return;
        }
        if (exports.find(request.exportName()) == null) {
            error(option, Nbd.REP_ERR_UNKNOWN, "export '" + request.exportName() + "' does not exist (exports: "
                + exports.names() + ")");
            return;
        }
        boolean selected = false;
        if (set) {
            selected = request.queries().contains(Nbd.BASE_ALLOCATION);
        } else {
            selected = request.queries().isEmpty() || request.queries().contains(Nbd.BASE_ALLOCATION)
                || request.queries().contains("base:");
        }
        if (selected) {
            reply(option, Nbd.REP_META_CONTEXT, OptionPayloads.metaContext(set ? BASE_ALLOCATION_ID : 0,
                Nbd.BASE_ALLOCATION));
            if (set) {
                metaContextExport = request.exportName();
            }
        }
        reply(option, Nbd.REP_ACK, null);
    }

    private void error(int option, int type, String message) throws IOException {
        reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    private void reply(int option, int type, ByteBuffer data) throws IOException {
        header.clear();
        new OptionReplyHeader(option, type, data == null ? 0 : data.remaining()).encode(header);
        header.flip();
        if (data == null) {
            Channels.writeFully(channel, header);
        } else {
            Channels.writeFully(channel, header, data);
        }
    }
}
