package org.kcopyd.runtime;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * A test client of Firefox's built-in remote protocol, Marionette (what geckodriver proxies to; Debian
 * has no geckodriver and nothing may be downloaded). The protocol (version 3): on connect the browser
 * sends {@code LENGTH:{"applicationType":"gecko","marionetteProtocol":3}}; each command is
 * {@code LENGTH:[0, ID, "WebDriver:Name", {parameters}]} and its answer {@code LENGTH:[1, ID, ERROR, RESULT]}
 * with {@code ERROR} null or {@code {"error": CODE, "message": ...}}, LENGTH being the JSON's length in
 * bytes, in decimal. One command at a time: the client waits for the answer to each (at most the
 * timeout given at {@link #connect}); a message longer than {@link #MAX_MESSAGE_BYTES} is refused, so a
 * misbehaving peer cannot make it hold unbounded memory. Errors: a refused command throws
 * {@link MarionetteException} with the protocol's error code; a broken connection
 * {@link UncheckedIOException}. Not thread-safe: used by one test thread.
 */
final class MarionetteClient implements AutoCloseable {

    /** The largest message accepted: a full-page screenshot, base64-encoded, of a large window fits. */
    static final int MAX_MESSAGE_BYTES = 64 << 20;

    /** The W3C WebDriver key under which an element reference is given. */
    private static final String ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";
    private static final int MAX_LENGTH_DIGITS = 10;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private int nextId = 1;

    private MarionetteClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /**
     * Connects to Marionette on {@code 127.0.0.1:port} and reads its greeting.
     *
     * @param timeout how long to wait for the connection, the greeting and later for each answer
     * @throws IllegalStateException when the peer is not a Marionette of protocol version 3
     */
    static MarionetteClient connect(int port, Duration timeout) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), Math.toIntExact(timeout.toMillis()));
            socket.setSoTimeout(Math.toIntExact(timeout.toMillis()));
            MarionetteClient client = new MarionetteClient(socket);
            JsonObject hello = client.read().getAsJsonObject();
            if (!hello.has("marionetteProtocol") || hello.get("marionetteProtocol").getAsInt() != 3) {
                throw new IllegalStateException("127.0.0.1:" + port + " greets with " + hello
                        + ", not Marionette protocol version 3");
            }
            return client;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Sends one command and returns its result.
     *
     * @throws MarionetteException when the browser answers with an error
     */
    JsonElement command(String name, JsonObject parameters) {
        int id = nextId++;
        JsonArray message = new JsonArray();
        message.add(0);
        message.add(id);
        message.add(name);
        message.add(parameters);
        JsonArray answer;
        try {
            write(message.toString());
            answer = read().getAsJsonArray();
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": the connection to Marionette broke", e);
        }
        if (answer.size() != 4 || answer.get(0).getAsInt() != 1 || answer.get(1).getAsInt() != id) {
            throw new IllegalStateException(name + ": expected the answer [1, " + id + ", error, result], got "
                    + answer);
        }
        if (!answer.get(2).isJsonNull()) {
            JsonObject error = answer.get(2).getAsJsonObject();
            throw new MarionetteException(name, error.get("error").getAsString(), error.get("message").getAsString());
        }
        return answer.get(3);
    }

    /** Starts the WebDriver session every other command needs; returns the browser's version. */
    String newSession() {
        JsonObject parameters = new JsonObject();
        parameters.add("capabilities", new JsonObject());
        return command("WebDriver:NewSession", parameters).getAsJsonObject().getAsJsonObject("capabilities")
                .get("browserVersion").getAsString();
    }

    /** Sets the window's size in CSS pixels (the headless window's default is small). */
    void windowSize(int width, int height) {
        JsonObject parameters = new JsonObject();
        parameters.addProperty("width", width);
        parameters.addProperty("height", height);
        command("WebDriver:SetWindowRect", parameters);
    }

    /** Opens {@code url} in the current tab and waits for its load event. */
    void navigate(String url) {
        JsonObject parameters = new JsonObject();
        parameters.addProperty("url", url);
        command("WebDriver:Navigate", parameters);
    }

    /** @return the address in the address bar */
    String currentUrl() {
        return value(command("WebDriver:GetCurrentURL", new JsonObject())).getAsString();
    }

    /**
     * Runs {@code script} as a function body in the page ({@code arguments[i]} are the strings given)
     * and returns what it returned (JSON null for undefined or null).
     */
    JsonElement script(String script, String... arguments) {
        JsonObject parameters = new JsonObject();
        parameters.addProperty("script", script);
        JsonArray args = new JsonArray();
        for (String a : arguments) {
            args.add(a);
        }
        parameters.add("args", args);
        return value(command("WebDriver:ExecuteScript", parameters));
    }

    /**
     * @return the reference of the first element matching the CSS selector
     * @throws MarionetteException with code {@code no such element} when none matches
     */
    String findElement(String cssSelector) {
        JsonObject parameters = new JsonObject();
        parameters.addProperty("using", "css selector");
        parameters.addProperty("value", cssSelector);
        return value(command("WebDriver:FindElement", parameters)).getAsJsonObject().get(ELEMENT_KEY).getAsString();
    }

    /** Clicks the element as a user does (scrolled into view, at its centre; refused when covered). */
    void click(String element) {
        JsonObject parameters = new JsonObject();
        parameters.addProperty("id", element);
        command("WebDriver:ElementClick", parameters);
    }

    /** @return the text of the open alert, confirm or prompt dialog, or empty when none is open */
    Optional<String> dialogText() {
        try {
            return Optional.of(value(command("WebDriver:GetAlertText", new JsonObject())).getAsString());
        } catch (MarionetteException e) {
            if (e.code().equals("no such alert")) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Answers the open dialog with OK. */
    void acceptDialog() {
        command("WebDriver:AcceptAlert", new JsonObject());
    }

    /** @return a PNG image of the viewport */
    byte[] screenshot() {
        JsonObject parameters = new JsonObject();
        parameters.addProperty("full", false);
        return Base64.getDecoder().decode(value(command("WebDriver:TakeScreenshot", parameters)).getAsString());
    }

    /** Asks the browser to quit at once (the session and every window end with it). */
    void quit() {
        JsonObject parameters = new JsonObject();
        JsonArray flags = new JsonArray();
        flags.add("eForceQuit");
        parameters.add("flags", flags);
        command("Marionette:Quit", parameters);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private static JsonElement value(JsonElement result) {
        if (result.isJsonObject() && result.getAsJsonObject().has("value")) {
            return result.getAsJsonObject().get("value");
        }
        return JsonNull.INSTANCE;
    }

    private void write(String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        out.write((body.length + ":").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private JsonElement read() throws IOException {
        long length = 0;
        int digits = 0;
        for (int c = in.read(); c != ':'; c = in.read()) {
            if (c < 0) {
                throw new EOFException("Marionette closed the connection before a message");
            }
            if (c < '0' || c > '9' || ++digits > MAX_LENGTH_DIGITS) {
                throw new IOException("Marionette sent a length prefix that is not a decimal number of at most "
                        + MAX_LENGTH_DIGITS + " digits (at character " + c + ")");
            }
            length = length * 10 + (c - '0');
        }
        if (length > MAX_MESSAGE_BYTES) {
            throw new IOException("Marionette announced a message of " + length + " bytes, more than the "
                    + MAX_MESSAGE_BYTES + " accepted");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream((int) length);
        byte[] buffer = new byte[8192];
        for (long left = length; left > 0;) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new EOFException("Marionette closed the connection " + left + " bytes before the end of a "
                        + length + "-byte message");
            }
            body.write(buffer, 0, n);
            left -= n;
        }
        return JsonParser.parseString(body.toString(StandardCharsets.UTF_8));
    }

    /** A command the browser refused: its name, the protocol's error code and the browser's message. */
    static final class MarionetteException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String code;

        MarionetteException(String command, String code, String message) {
            super(command + ": " + code + ": " + message);
            this.code = code;
        }

        /** @return the WebDriver error code, such as {@code no such element} or {@code stale element reference} */
        String code() {
            return code;
        }
    }
}
