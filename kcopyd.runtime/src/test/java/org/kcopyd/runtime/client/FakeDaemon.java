package org.kcopyd.runtime.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CopyOnWriteArrayList;

import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A stand-in for the daemon in the thin client's tests: the state directory's files as the
 * daemon writes them (control.json, an owner-only control.token, lock held exclusively by this
 * JVM) and a JDK HttpServer on 127.0.0.1 that records every request and answers from a script:
 * for each "METHOD PATH" a queue of answers (the last one repeats); anything else is 404
 * not-found. Answers go out chunked or with Content-Length, as {@link #chunked} says.
 */
final class FakeDaemon implements AutoCloseable {

    /** A request as the server saw it. */
    record Request(String method, String path, String body, String authorization, String host) {
        JsonObject json() {
            return Json.parseObject(body);
        }
    }

    /** What a run of the client gave. */
    record Run(int exit, String out, String err) {
    }

    static final String TOKEN = "0123456789abcdef".repeat(4);

    private final Path state;
    private final HttpServer server;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Map<String, Queue<String[]>> script = new HashMap<>();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    volatile boolean chunked;
    private volatile String endAfter;

    FakeDaemon(Path state) throws IOException {
        this.state = state;
        Files.createDirectories(state);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
        Files.writeString(state.resolve("control.json"), "{\"url\": \"http://127.0.0.1:" + port()
                + "/\", \"pid\": 4242, \"version\": \"1.0.0\"}");
        Files.setPosixFilePermissions(state.resolve("control.json"), PosixFilePermissions.fromString("rw-------"));
        Files.writeString(state.resolve("control.token"), TOKEN + "\n");
        Files.setPosixFilePermissions(state.resolve("control.token"), PosixFilePermissions.fromString("rw-------"));
        lockChannel = FileChannel.open(state.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        lock = lockChannel.lock();
    }

    int port() {
        return server.getAddress().getPort();
    }

    Path state() {
        return state;
    }

    /** Adds an answer to {@code METHOD PATH}. */
    FakeDaemon answer(String method, String path, int status, String body) {
        synchronized (script) {
            script.computeIfAbsent(method + " " + path, k -> new ArrayDeque<>()).add(new String[] {
                Integer.toString(status), body});
        }
        return this;
    }

    /** After answering {@code METHOD PATH}, ends: the server stops and the state directory's lock is released. */
    FakeDaemon endAfter(String method, String path) {
        endAfter = method + " " + path;
        return this;
    }

    /** Drops the answers to {@code METHOD PATH}. */
    FakeDaemon forget(String method, String path) {
        synchronized (script) {
            script.remove(method + " " + path);
        }
        return this;
    }

    /** Answers {@code METHOD PATH} with an API error. */
    FakeDaemon error(String method, String path, int status, String code, String message) {
        JsonObject e = new JsonObject();
        e.addProperty("code", code);
        e.addProperty("message", message);
        JsonObject o = new JsonObject();
        o.add("error", e);
        return answer(method, path, status, Json.line(o));
    }

    /** The one request made; fails if there were others. */
    Request only() {
        if (requests.size() != 1) {
            throw new AssertionError("expected one request, got " + requests);
        }
        return requests.get(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getRawPath();
        requests.add(new Request(method, path, body, exchange.getRequestHeaders().getFirst("Authorization"),
                exchange.getRequestHeaders().getFirst("Host")));
        String[] reply;
        synchronized (script) {
            Queue<String[]> q = script.get(method + " " + path);
            reply = q == null ? null : q.size() > 1 ? q.poll() : q.peek();
        }
        if (reply == null) {
            reply = new String[] {"404", "{\"error\":{\"code\":\"not-found\",\"message\":\"no endpoint " + method + " "
                    + path + "\"}}"};
        }
        byte[] bytes = reply[1].getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(Integer.parseInt(reply[0]), chunked ? 0 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
        if ((method + " " + path).equals(endAfter)) {
            // As a daemon killed meanwhile: from another thread, so that this exchange ends first.
            Thread end = new Thread(this::close, "fake-daemon-end");
            end.start();
        }
    }

    /** Runs the client in {@code cwd} against this state directory (--state added). */
    Run run(Path cwd, String... args) {
        return run(ShutdownHooks.RUNTIME, cwd, args);
    }

    /** Runs the client in {@code cwd} against this state directory (--state added), its waits' hooks in {@code hooks}. */
    Run run(ShutdownHooks hooks, Path cwd, String... args) {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--state";
        all[args.length + 1] = state.toString();
        return client(hooks, cwd, Map.of(), all);
    }

    /** Runs the client with no --state added. */
    static Run client(Path cwd, Map<String, String> env, String... args) {
        return client(ShutdownHooks.RUNTIME, cwd, env, args);
    }

    static Run client(ShutdownHooks hooks, Path cwd, Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            int code = ThinClient.run(args, env, cwd, o, e, hooks).orElseThrow(() -> new AssertionError(
                    "not a daemon command: " + List.of(args)));
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }

    /** Stops the server and releases the lock; again does nothing. */
    @Override
    public synchronized void close() {
        if (!lockChannel.isOpen()) {
            return;
        }
        server.stop(0);
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
