package org.kcopyd.nbd.internal.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

import org.junit.jupiter.api.Test;

class ChannelReaderTest {

    /** A channel giving at most {@code step} bytes per read, like a socket. */
    private static ReadableByteChannel trickle(byte[] bytes, int step) {
        ByteArrayInputStream in = new ByteArrayInputStream(bytes);
        return new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) {
                int n = Math.min(step, dst.remaining());
                byte[] chunk = new byte[n];
                int got = in.read(chunk, 0, n);
                if (got <= 0) {
                    return n == 0 ? 0 : -1;
                }
                dst.put(chunk, 0, got);
                return got;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void headersThenPayloadInOrder() throws IOException {
        byte[] bytes = new byte[300];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) i;
        }
        ChannelReader reader = new ChannelReader(trickle(bytes, 7), 32);
        assertThat(reader.require(4, "h").getInt()).isEqualTo(0x00010203);
        reader.skip(4, "s");
        ByteBuffer payload = ByteBuffer.allocate(200);
        reader.readFully(payload, "p");
        assertThat(payload.get(0)).isEqualTo((byte) 8);
        assertThat(payload.get(199)).isEqualTo((byte) 207);
        assertThat(reader.require(2, "h").get()).isEqualTo((byte) 208);
    }

    @Test
    void endOfStreamNamesWhatWasBeingRead() {
        ChannelReader reader = new ChannelReader(trickle(new byte[3], 8), 32);
        assertThatThrownBy(() -> reader.require(16, "a reply header")).isInstanceOf(EOFException.class)
            .hasMessageContaining("a reply header").hasMessageContaining("13 of 16 bytes missing");
    }
}
