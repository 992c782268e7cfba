package org.kcopyd.nbd;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;

import org.kcopyd.nbd.internal.protocol.Nbd;

/** A hand-driven NBD client over TCP for tests that break the rules on purpose. */
final class RawClient implements AutoCloseable {

    /** An option reply: its type and data. */
    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** A transmission reply: simple (type -1) or a structured chunk. */
    record Reply(long cookie, int error, int type, int flags, byte[] payload) {
    }

    private final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    RawClient(SocketAddress address) throws IOException {
        InetSocketAddress inet = (InetSocketAddress) address;
        socket = new Socket(inet.getAddress(), inet.getPort());
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
    }

    /** Reads the greeting and answers with fixed newstyle; returns the handshake flags. */
    int greet() throws IOException {
        if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
            throw new IOException("not an NBD greeting");
        }
        int flags = in.readUnsignedShort();
        out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE);
        return flags;
    }

    void sendOption(int option, byte[] data) throws IOException {
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply readOptionReply() throws IOException {
        if (in.readLong() != Nbd.OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** NBD_OPT_STRUCTURED_REPLY, then NBD_OPT_GO for the export; fails unless both succeed. */
    void go(String export, boolean structured) throws IOException {
        if (structured) {
            sendOption(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            if (readOptionReply().type() != Nbd.REP_ACK) {
                throw new IOException("structured replies refused");
            }
        }
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(6 + name.length).putInt(name.length).put(name)
            .putShort((short) 0);
        sendOption(Nbd.OPT_GO, data.array());
        while (true) {
            OptionReply reply = readOptionReply();
            if (reply.type() == Nbd.REP_ACK) {
                return;
            }
            if (reply.type() != Nbd.REP_INFO) {
                throw new IOException("NBD_OPT_GO failed: " + Nbd.replyName(reply.type()) + " " + reply.text());
            }
        }
    }

    void request(int type, int flags, long cookie, long offset, long length, byte[] payload) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
        if (payload != null) {
            out.write(payload);
        }
        out.flush();
    }

    /** Reads one reply; for a simple READ reply, {@code readLength} bytes of data follow a success. */
    Reply readReply(int readLength) throws IOException {
        int magic = in.readInt();
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            int error = in.readInt();
            long cookie = in.readLong();
            byte[] data = new byte[error == 0 ? readLength : 0];
            in.readFully(data);
            return new Reply(cookie, error, -1, 0, data);
        }
        if (magic != Nbd.STRUCTURED_REPLY_MAGIC) {
            throw new IOException("bad reply magic 0x" + Integer.toHexString(magic));
        }
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long cookie = in.readLong();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        int error = (type & Nbd.REPLY_TYPE_FLAG_ERROR) != 0 ? java.nio.ByteBuffer.wrap(payload).getInt() : 0;
        return new Reply(cookie, error, type, flags, payload);
    }

    /** @return true if the server closed the connection (reads end-of-stream within the socket timeout) */
    boolean closedByServer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (EOFException | java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
