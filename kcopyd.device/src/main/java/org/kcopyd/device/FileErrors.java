package org.kcopyd.device;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;


/**
 * Turns the JDK's file exceptions into words that say what failed and why: a
 * {@link NoSuchFileException}'s message is only the path, an {@link AccessDeniedException}'s too.
 * For the command line and the daemon's answers alike. Stateless.
 */
public final class FileErrors {

    private FileErrors() {
    }

    /**
     * @param e     what went wrong
     * @param doing what was being done, completing "cannot ...", e.g. {@code "open ro.img for writing"}
     * @return one line, e.g. {@code "cannot open ro.img for writing: permission denied"}
     */
    public static String describe(IOException e, String doing) {
        if (e instanceof FileClaimedException) {
            // Its message names the holder: "origin.img is the origin of snapshot s1; ...".
            return e.getMessage();
        }
        return "cannot " + doing + ": " + reason(e);
    }

    /** @return why {@code t} happened, in words, without the path the caller names already */
    public static String reason(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof FileClaimedException) {
            return t.getMessage();
        }
        if (t instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (t instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (t instanceof FileAlreadyExistsException) {
            return "it exists already";
        }
        if (t instanceof NotDirectoryException e) {
            return e.getFile() + " is not a directory";
        }
        if (t instanceof FileSystemException e && e.getReason() != null) {
            return e.getReason().toLowerCase(Locale.ROOT);
        }
        if (t instanceof ClosedChannelException) {
            return "the file was closed while in use (the command was interrupted)";
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
