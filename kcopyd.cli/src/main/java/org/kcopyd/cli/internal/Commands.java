package org.kcopyd.cli.internal;

import java.lang.reflect.Constructor;
import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The kcopyd command set, shared by the shell and the runtime's command line: parses the
 * arguments with picocli and runs the command, turning failures into plain words and exit codes
 * (never a stack trace).
 */
@Command(name = "kcopyd", mixinStandardHelpOptions = true, versionProvider = BundleVersion.class,
        description = "Copies sectors between files and block devices with kcopyd, and manages snapshots and mirrors.",
        footer = {"", "The runtime jar (java -jar kcopyd.jar [--config-dir DIR] [COMMAND...]) reads configuration files "
                + "(*.cfg, *.config) only from a directory named with --config-dir, given before the command; the directory "
                + "and its files must not be writable by others. Without a command it opens the interactive shell."},
        subcommands = {CopyCommand.class, ZeroCommand.class, ServeCommand.class, SnapshotCommand.class, MirrorCommand.class,
            ConfigCommand.class, DemoCommand.class})
final class Commands {

    private Commands() {
    }

    /** Makes command objects, handing them the console. */
    private static CommandLine.IFactory factory(Console console) {
        CommandLine.IFactory fallback = CommandLine.defaultFactory();
        return new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> type) throws Exception {
                try {
                    Constructor<K> withConsole = type.getDeclaredConstructor(Console.class);
                    withConsole.setAccessible(true);
                    return withConsole.newInstance(console);
                } catch (NoSuchMethodException e) {
                    return fallback.create(type);
                }
            }
        };
    }

    /**
     * Runs one command line.
     *
     * @return the exit code (see {@link Exit})
     */
    static int run(Console console, String... args) {
        CommandLine line = new CommandLine(Commands.class, factory(console));
        line.setOut(console.out());
        line.setErr(console.err());
        line.setParameterExceptionHandler((e, arguments) -> usageError(console, e, arguments));
        // H48-9: Java's own parsing takes any Unicode digits (--pages ٨ was 8), the region parser only ASCII ones.
        line.registerConverter(Integer.class, text -> asciiNumber(text, "an int", Integer::valueOf));
        line.registerConverter(Integer.TYPE, text -> asciiNumber(text, "an int", Integer::valueOf));
        line.registerConverter(Long.class, text -> asciiNumber(text, "a long", Long::valueOf));
        line.registerConverter(Long.TYPE, text -> asciiNumber(text, "a long", Long::valueOf));
        line.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                    ? e.getCause() : e;
            String message = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
            console.err().println("kcopyd " + cmd.getCommandName() + ": " + message);
            return cause instanceof IllegalArgumentException ? Exit.USAGE : Exit.FAILED;
        });
        int code = line.execute(args);
        console.out().flush();
        console.err().flush();
        return code;
    }

    /**
     * @param what  the type, as picocli says it ("an int")
     * @param parse the type's parser, given only ASCII: an optional {@code -} or {@code +}, then the digits 0-9
     * @return the number {@code text} is written as
     * @throws CommandLine.TypeConversionException naming the text, in picocli's own words, if it is not such a
     *         number of the type (Java's parsers also take other scripts' digits: {@code ٨} was 8)
     */
    static <T> T asciiNumber(String text, String what, java.util.function.Function<String, T> parse) {
        try {
            if (text.matches("[-+]?[0-9]+")) {
                return parse.apply(text);
            }
        } catch (NumberFormatException tooLarge) {
            // As picocli says it.
        }
        throw new CommandLine.TypeConversionException("'" + text + "' is not " + what);
    }

    /**
     * Bad arguments found by picocli: one line naming them (not the whole usage, which
     * {@code --help} shows), or with {@code --json} the JSON error object on standard output.
     */
    private static int usageError(Console console, CommandLine.ParameterException e, String[] arguments) {
        String command = e.getCommandLine().getCommandSpec().qualifiedName(" ");
        String message = Report.oneLine(e.getMessage());
        List<String> given = List.of(arguments);
        int end = given.indexOf("--");
        if ((end < 0 ? given : given.subList(0, end)).contains("--json")) {
            console.out().println(Json.of(Report.error(Exit.USAGE, message, List.of())));
        } else {
            console.err().println(command + ": " + message + " (see " + command + " --help)");
        }
        return Exit.USAGE;
    }
}
