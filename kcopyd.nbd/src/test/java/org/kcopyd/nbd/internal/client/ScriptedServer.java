package org.kcopyd.nbd.internal.client;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.Request;

/**
 * A fake NBD server for one connection whose answers a test scripts byte by byte, to check how
 * the client takes replies real servers rarely send (holes, error offsets, broken chunks).
 */
final class ScriptedServer implements AutoCloseable {

    /** Writes the replies to one request. */
    interface Responder {
        void answer(Request request, byte[] payload, DataOutputStream out) throws IOException;
    }

    /** How the handshake goes. */
    record Handshake(long secondMagic, int handshakeFlags, boolean structured, boolean go, long size, int flags,
                     int minimumBlock, int maximumBlock) {
        static Handshake normal(long size) {
            return new Handshake(Nbd.IHAVEOPT, Nbd.FLAG_FIXED_NEWSTYLE, true, true, size,
                Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH, 512, 1 << 20);
        }

        Handshake withStructured(boolean value) {
            return new Handshake(secondMagic, handshakeFlags, value, go, size, flags, minimumBlock, maximumBlock);
        }

        Handshake withGo(boolean value) {
            return new Handshake(secondMagic, handshakeFlags, structured, value, size, flags, minimumBlock, maximumBlock);
        }

        Handshake withGreeting(long magic, int handshake) {
            return new Handshake(magic, handshake, structured, go, size, flags, minimumBlock, maximumBlock);
        }

        Handshake withFlags(int value) {
            return new Handshake(secondMagic, handshakeFlags, structured, go, size, value, minimumBlock, maximumBlock);
        }

        Handshake withBlocks(int minimum, int maximum) {
            return new Handshake(secondMagic, handshakeFlags, structured, go, size, flags, minimum, maximum);
        }
    }

    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    final List<Integer> options = Collections.synchronizedList(new ArrayList<>());
    private final ServerSocketChannel server;
    private final Thread thread;
    private volatile SocketChannel connection;

    ScriptedServer(Path socket, Handshake handshake, Responder responder) throws IOException {
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        thread = new Thread(() -> serve(handshake, responder), "scripted-nbd-server");
        thread.setDaemon(true);
        thread.start();
    }

    private void serve(Handshake handshake, Responder responder) {
        try (SocketChannel channel = server.accept()) {
            connection = channel;
            DataInputStream in = new DataInputStream(Channels.newInputStream(channel));
            DataOutputStream out = new DataOutputStream(Channels.newOutputStream(channel));
            out.writeLong(Nbd.NBDMAGIC);
            out.writeLong(handshake.secondMagic());
            out.writeShort(handshake.handshakeFlags());
            out.flush();
            in.readInt();
            while (true) {
                in.readLong();
                int option = in.readInt();
                options.add(option);
                byte[] data = new byte[in.readInt()];
                in.readFully(data);
                if (option == Nbd.OPT_EXPORT_NAME) {
                    out.writeLong(handshake.size());
                    out.writeShort(handshake.flags());
                    out.write(new byte[Nbd.EXPORT_NAME_PADDING]);
                    out.flush();
                    break;
                }
                if (option == Nbd.OPT_STRUCTURED_REPLY && handshake.structured()) {
                    reply(out, option, Nbd.REP_ACK, new byte[0]);
                } else if (option == Nbd.OPT_GO && handshake.go()) {
                    reply(out, option, Nbd.REP_INFO, java.nio.ByteBuffer.allocate(12).putShort((short) 0)
                        .putLong(handshake.size()).putShort((short) handshake.flags()).array());
                    reply(out, option, Nbd.REP_INFO, java.nio.ByteBuffer.allocate(14).putShort((short) 3)
                        .putInt(handshake.minimumBlock()).putInt(4096).putInt(handshake.maximumBlock()).array());
                    reply(out, option, Nbd.REP_ACK, new byte[0]);
                    break;
                } else {
                    reply(out, option, Nbd.REP_ERR_UNSUP, new byte[0]);
                }
            }
            while (true) {
                java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(Nbd.REQUEST_HEADER_SIZE);
                in.readFully(header.array());
                Request request = Request.decode(header);
                if (request.type() == Nbd.CMD_DISC) {
                    return;
                }
                requests.add(request);
                byte[] payload = new byte[request.type() == Nbd.CMD_WRITE ? (int) request.length() : 0];
                in.readFully(payload);
                responder.answer(request, payload, out);
                out.flush();
            }
        } catch (IOException e) {
            // The client closed the connection, or the test closed the server.
        }
    }

    private static void reply(DataOutputStream out, int option, int type, byte[] data) throws IOException {
        out.writeLong(Nbd.OPTION_REPLY_MAGIC);
        out.writeInt(option);
        out.writeInt(type);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    /** Writes a structured chunk header. */
    static void chunk(DataOutputStream out, int flags, int type, long cookie, int length) throws IOException {
        out.writeInt(Nbd.STRUCTURED_REPLY_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeInt(length);
    }

    /** Writes a simple reply header. */
    static void simple(DataOutputStream out, int error, long cookie) throws IOException {
        out.writeInt(Nbd.SIMPLE_REPLY_MAGIC);
        out.writeInt(error);
        out.writeLong(cookie);
    }

    @Override
    public void close() throws IOException {
        server.close();
        SocketChannel channel = connection;
        if (channel != null) {
            channel.close();
        }
    }
}
