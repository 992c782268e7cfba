package org.kcopyd.cli.internal;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kcopyd.control.ControlException;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.device.DeviceUris;

/**
 * The snapshot and mirror commands' calls of the {@link KcopydControl} service, which holds their
 * rules (the same for the shell and the daemon's API): what the command line adds is making paths
 * absolute, and saying a refusal in its own words, with its exit code. Stateless.
 *
 * <p>Exit codes: a bad value or a name that does not exist ({@code BAD_REQUEST}, {@code NOT_FOUND})
 * is {@link Exit#USAGE}; a file or name in use ({@code CONFLICT}), a missing bundle
 * ({@code UNAVAILABLE}) or a failure ({@code FAILED}) is {@link Exit#FAILED}, as the README's table
 * has it ("could not run: ... in use (claimed), a service is missing").
 */
final class ControlCalls {

    private ControlCalls() {
    }

    /**
     * Runs one call, turning its refusal into a {@link CommandException}.
     *
     * @param options the request's field names and the options that set them ({@code chunkSectors} ->
     *                {@code --chunk-sectors}): a refusal of the control's own checks names the option
     *                the user typed; a component's refusal (which quotes its configuration) is kept as it is
     */
    static <T> T call(Supplier<T> call, Map<String, String> options) {
        try {
            return call.get();
        } catch (ControlException e) {
            throw refusal(e, options);
        }
    }

    /** @return the command line's refusal for a control's refusal */
    static CommandException refusal(ControlException e, Map<String, String> options) {
        int code = switch (e.code()) {
            case BAD_REQUEST, NOT_FOUND -> Exit.USAGE;
            default -> Exit.FAILED;
        };
        return new CommandException(code, Console.printable(inOptionWords(String.valueOf(e.getMessage()), options)));
    }

    /**
     * @return {@code message} with each field name of {@code options} (a whole word, not part of a path)
     *         written as its option, unless the message is a component's refusal ({@code ... not created:
     *         ...}), whose words are the configuration's and are kept
     */
    static String inOptionWords(String message, Map<String, String> options) {
        if (message.contains(" not created: ") || message.contains(" is not open: ")) {
            return message;
        }
        String result = message;
        for (Map.Entry<String, String> e : options.entrySet()) {
            Matcher m = Pattern.compile("(?<![\\w./:=-])" + Pattern.quote(e.getKey()) + "(?![\\w./:=-])").matcher(result);
            result = m.replaceAll(Matcher.quoteReplacement(e.getValue()));
        }
        return result;
    }

    /**
     * @param what  "origin", "leg 1"... for messages
     * @param value a path (made absolute against the working directory), or a device URI as it is
     * @return what the control is given
     * @throws CommandException ({@link Exit#USAGE}) for a value that is no path
     */
    static String device(String what, String value) {
        if (DeviceUris.looksLikeUri(value)) {
            return value;
        }
        return absolute(what, value);
    }

    /** @return the path made absolute against the working directory */
    static String absolute(String what, String value) {
        try {
            return Path.of(value).toAbsolutePath().toString();
        } catch (InvalidPathException e) {
            throw CommandException.usage(what + " '" + Console.printable(value) + "' is not a path: " + e.getReason());
        }
    }
}
