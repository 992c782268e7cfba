package org.kcopyd.runtime.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The hand-written HTTP/1.1 response reader: the three body framings, interim responses, truncation and limits. */
class HttpExchangeTest {

    private static HttpExchange.Response read(String wire) throws IOException {
        return HttpExchange.read(new ByteArrayInputStream(wire.getBytes(StandardCharsets.UTF_8)), false);
    }

    @Test
    void readsContentLengthChunkedAndUntilCloseBodies() throws IOException {
        assertThat(read("HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\n{\"a\":1}trailing"))
                .isEqualTo(new HttpExchange.Response(201, "{\"a\":1}"));
        assertThat(read("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n3;ext=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n"
                + "X-Trailer: y\r\n\r\n")).isEqualTo(new HttpExchange.Response(200, "{\"a\":1}"));
        assertThat(read("HTTP/1.0 404 Not Found\nContent-Type: application/json\n\n{\"é\":2}"))
                .isEqualTo(new HttpExchange.Response(404, "{\"é\":2}"));
        assertThat(read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
                .isEqualTo(new HttpExchange.Response(204, ""));
    }

    @Test
    void truncatedResponsesAreTruncatedExceptions() {
        assertThatThrownBy(() -> read("")).isInstanceOf(HttpExchange.TruncatedException.class)
                .hasMessage("the connection closed before a response");
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\nContent-Le")).isInstanceOf(HttpExchange.TruncatedException.class);
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"))
                .isInstanceOf(HttpExchange.TruncatedException.class);
    }

    @Test
    void malformedOrOversizedResponsesAreRefusedNamingTheLimit() {
        assertThatThrownBy(() -> read("SSH-2.0-OpenSSH\r\n\r\n")).hasMessage("not an HTTP/1.1 status line: "
                + "'SSH-2.0-OpenSSH'");
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n"))
                .hasMessage("the response body is 99999999 bytes, more than 16777216");
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"))
                .hasMessage("bad Content-Length '-1'");
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\nX: " + "x".repeat(9000) + "\r\n\r\n"))
                .hasMessage("a response line is longer than 8192 bytes");
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\n" + "X: y\r\n".repeat(101) + "\r\n"))
                .hasMessage("the response has more than 100 header lines");
        assertThatThrownBy(() -> read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
                .hasMessage("bad chunk size 'zz'");
    }
}
