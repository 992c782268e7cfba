package org.kcopyd.device;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * What tells a device kcopyd keeps using across restarts (a snapshot's origin, an exported file or
 * disk) from any other file or disk at the same path: a short string a person can copy into a
 * configuration ({@code originId}, {@code deviceId}), the same in every process.
 *
 * <p>For a regular file its file system's device and its inode, as {@link FileClaims} compares
 * files, whatever path names it; the device as the kernel knows the disk, as below
 * ({@code file:dm-uuid=LVM-...:ino=2146320}), or by its number ({@code file:dev=0:45:ino=2146320});
 * then a hash of the file system's handle for the file where it gives one ({@code :fh=HEX}: its
 * inode's generation, so a new file that got a deleted file's inode number is another identity).
 * For a block device the device number a node stands for (what {@link FileClaims} compares) can
 * name another disk after a reboot or a re-plug ({@code /dev/sdb} is whichever disk came second),
 * and device-mapper numbers change with activation order, so what the kernel knows of the disk
 * itself comes first, from {@code /sys/dev/block/MAJOR:MINOR}: a device-mapper UUID (LVM,
 * dm-crypt, multipath), the file behind a loop device (and its offset), a disk's WWID, a partition
 * as its disk's identity plus its number and start. A serial number is kept with the device number,
 * as serial numbers are not unique (virtual disks often share a product default); a device with
 * none of these is known by its number alone ({@code block:dev=8:16}). A file restored from a
 * backup or copied elsewhere is a new inode and so another identity: the user must say it is the
 * one meant.
 *
 * <p>A device named by URI ({@link #of(URI)}: an NBD export, say) has no file to examine: its
 * identity is its normalized URI ({@link DeviceUris#normalized}: scheme and host in lower case,
 * dot segments removed), such as {@code nbd+unix:///disk?socket=/run/a.sock}; one longer than
 * {@value #MAX_LENGTH} characters is kept as its scheme and hash ({@code nbd:sha256=HEX}). It names
 * the export, not the data behind it. An identity of a file never equals one of a URI.
 *
 * <p>An identity says nothing of the content: a file written over in place keeps its identity.
 *
 * @since 1.13
 */
public final class DeviceIdentity {

    /** The longest identity kept as it is; a longer one is kept as its hash. */
    public static final int MAX_LENGTH = 128;

    private static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._:+-]+");
    private static final Pattern TYPED = Pattern.compile("[A-Za-z0-9._:=/+-]{1," + MAX_LENGTH + "}");
    /** A long identity as {@link #compact} keeps it. */
    private static final Pattern HASHED = Pattern.compile("[a-z][a-z0-9+.-]*:sha256=[0-9a-f]{64}");
    /** A file handle's part of a file's identity ({@link #handle}). */
    private static final Pattern HANDLE = Pattern.compile(":fh=[0-9a-f]{16}");
    /** A URI identity: visible ASCII, no spaces. */
    private static final Pattern PRINTABLE = Pattern.compile("[\\x21-\\x7e]+");

    private DeviceIdentity() {
    }

    /**
     * @param path a file or block device node (symbolic links are followed)
     * @return its identity, at most {@value #MAX_LENGTH} characters of
     *         {@code A-Z a-z 0-9 . _ : = / + -}
     * @throws IOException if it cannot be examined (it does not exist, say)
     */
    public static String of(Path origin) throws IOException {
        return of(origin, SYS_DEV_BLOCK);
    }

    /** {@link #of(Path)} with the kernel's {@code /sys/dev/block} at {@code sysDevBlock}. */
    static String of(Path origin, Path sysDevBlock) throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(origin, BasicFileAttributes.class);
        Number mode = unix(origin, "mode");
        if (mode == null) {
            // No unix view: whatever the claim registry compares files by.
            return compact("file:" + clean(String.valueOf(FileClaims.identityOf(origin))));
        }
        String[] handle = {""};
        String base;
        if (attrs.isOther() && (mode.intValue() & S_IFMT) == S_IFBLK) {
            // A loop device's identity holds its file's, whose handle is then the one appended.
            base = "block:" + blockIdentity(majorMinor(unix(origin, "rdev").longValue()), sysDevBlock, handle);
        } else {
            base = "file:" + fileBase(origin, sysDevBlock);
            handle[0] = handle(origin);
        }
        return withHandle(base, handle[0]);
    }

    /**
     * The file system's disk as the kernel knows it, not only its number (an LVM volume's number may
     * change), and the file's inode: {@code dm-uuid=LVM-...:ino=2146320}.
     */
    private static String fileBase(Path file, Path sysDevBlock) throws IOException {
        return blockIdentity(majorMinor(unix(file, "dev").longValue()), sysDevBlock, new String[] {""}) + ":ino="
                + unix(file, "ino").longValue();
    }

    /**
     * H53-3: the handle's part always ends an identity, after its base or, when both would not fit
     * in {@value #MAX_LENGTH} characters, after the base's hash, so that a record made without it
     * ({@link #matches}) is compared with the same base, hashed or not.
     */
    private static String withHandle(String base, String handle) {
        return (base.length() + handle.length() <= MAX_LENGTH ? base : hashed(base)) + handle;
    }

    /**
     * H51-1: a file deleted and another made gets its inode number on ext4 (in the same directory),
     * and a new tmpfs numbers its files from the start on the same device number, so a file
     * restored at a path had the identity of the one before. The file system's handle for the file
     * (what NFS servers give clients: inode number and generation) tells them apart.
     *
     * @return {@code :fh=} and 16 hex digits of the SHA-256 of the file's handle, or "" if the file
     *         system gives none (an overlay without {@code nfs_export}) or JNA is absent
     */
    private static String handle(Path file) {
        NativeFiles sys = FileHoles.system();
        if (sys == null) {
            return "";
        }
        try {
            byte[] handle = sys.fileHandle(file.toString());
            return ":fh=" + HexFormat.of().formatHex(java.util.Arrays.copyOf(sha256().digest(handle), 8));
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /**
     * Whether a recorded identity names the file or disk whose identity is {@code now}: they are
     * equal, or {@code recorded} was made before identities held a file's handle (kcopyd before
     * {@code org.kcopyd.device} 1.13: no {@code :fh=} part) and equals {@code now} without it.
     *
     * @param recorded an identity a configuration or a store recorded, or null
     * @param now      the identity {@link #of(Path)} gives now
     * @return whether they name the same file or disk
     * @since 1.13
     */
    public static boolean matches(String recorded, String now) {
        if (recorded == null) {
            return false;
        }
        if (recorded.equals(now) || HANDLE.matcher(recorded).find() || !HANDLE.matcher(now).find()) {
            return recorded.equals(now);
        }
        String base = HANDLE.matcher(now).replaceAll("");
        // Recorded whole (it fit alone) while now, with the handle, only the base's hash fits.
        return recorded.equals(base) || !HASHED.matcher(recorded).matches() && hashed(recorded).equals(base);
    }

    /**
     * @param origin a device named by URI, of a scheme other than {@code file}
     * @return its identity: its normalized URI, or past {@value #MAX_LENGTH} characters its scheme and hash
     */
    public static String of(URI origin) {
        return compact(DeviceUris.normalized(origin));
    }

    /**
     * @param value an identity a person or a configuration gives
     * @return whether it could be an identity {@link #of(Path)} or {@link #of(URI)} gives
     */
    public static boolean isWellFormed(String value) {
        if (TYPED.matcher(value).matches() && (value.startsWith("file:") || value.startsWith("block:"))) {
            return true;
        }
        return value.length() <= MAX_LENGTH && (HASHED.matcher(value).matches()
                || DeviceUris.looksLikeUri(value) && PRINTABLE.matcher(value).matches());
    }

    /**
     * @param majorMinor the device's number as {@code MAJOR:MINOR}
     * @return what the kernel knows of the device, without the {@code block:} prefix
     */
    static String blockIdentity(String majorMinor, Path sysDevBlock) {
        return blockIdentity(majorMinor, sysDevBlock, new String[] {""});
    }

    /** As {@link #blockIdentity(String, Path)}; a loop device's file's handle goes to {@code handle[0]}. */
    private static String blockIdentity(String majorMinor, Path sysDevBlock, String[] handle) {
        Path node = sysDevBlock.resolve(majorMinor);
        String known = null;
        try {
            Path real = node.toRealPath();
            known = Files.exists(real.resolve("partition")) ? partition(real, sysDevBlock, handle)
                    : disk(real, sysDevBlock, handle);
        } catch (IOException e) {
            // No sysfs (not Linux, or hidden in a container): the number is all there is.
        }
        return known != null ? known : "dev=" + majorMinor;
    }

    private static String partition(Path part, Path sysDevBlock, String[] handle) throws IOException {
        String disk = disk(part.getParent(), sysDevBlock, handle);
        String number = sysfs(part, "partition");
        String start = sysfs(part, "start");
        return disk == null || number == null || start == null ? null
                : disk + "/part=" + number + ":start=" + start;
    }

    /** @return the stable identity of a whole device from its sysfs directory, or null if it has none */
    private static String disk(Path dir, Path sysDevBlock, String[] handle) throws IOException {
        String dm = sysfs(dir, "dm/uuid");
        if (dm != null) {
            return "dm-uuid=" + dm;
        }
        String backing = readSysfs(dir.resolve("loop/backing_file"));
        if (backing != null && !backing.isEmpty()) {
            long[] held = DeviceBacking.loopHeld(dir, sysDevBlock);
            String at = held != null ? String.valueOf(held[2]) : sysfs(dir, "loop/offset");
            String offset = at == null || at.equals("0") ? "" : ":offset=" + at;
            if (held != null && held[3] != 0) {
                // A loop device over a block device (another loop device, say): that device's identity.
                return "loop-of-block=" + blockIdentity(majorMinor(held[3]), sysDevBlock, handle) + offset;
            }
            Path file = Path.of(backing);
            if (held != null) {
                // H53-1, H53-2: the name sysfs gives may be gone (a hard link removed since, " (deleted)") or another
                // file's (set up in another mount namespace, or in a mount detached since): the file is the kernel's,
                // by its device and inode; its handle is known only where the name still names it.
                String attachment = "";
                if (isHeldFile(file, held)) {
                    handle[0] = handle(file);
                } else {
                    // H54-1: without a name for the file there is no handle, and a new tmpfs reuses device and inode
                    // numbers: the kernel's number for this attachment (diskseq, Linux 5.15) tells another file set
                    // up the same way after it; a re-attachment of the same file is then refused too (the safe side).
                    String seq = sysfs(dir, "diskseq");
                    attachment = seq == null ? "" : ":diskseq=" + seq;
                }
                return "loop-of=" + blockIdentity(majorMinor(held[0]), sysDevBlock, new String[] {""}) + ":ino="
                        + held[1] + offset + attachment;
            }
            if (!Files.isRegularFile(file)) {
                // Deleted (the kernel appends " (deleted)") or replaced by something else, and the kernel not asked.
                return "loop-of-gone=" + clean(backing);
            }
            handle[0] = handle(file);
            return "loop-of=" + fileBase(file, sysDevBlock) + offset;
        }
        for (String name : new String[] {"wwid", "device/wwid"}) {
            String value = sysfs(dir, name);
            if (value != null) {
                return "wwid=" + value;
            }
        }
        for (String name : new String[] {"serial", "device/serial"}) {
            String value = sysfs(dir, name);
            String number = sysfs(dir, "dev");
            if (value != null && number != null) {
                // Serial numbers are not unique (a virtual disk's is often a product default): with the number too.
                return "serial=" + value + ":dev=" + number;
            }
        }
        return null;
    }

    /** @return whether {@code file} is the file a loop device holds ({@link DeviceBacking#loopHeld}) */
    private static boolean isHeldFile(Path file, long[] held) {
        try {
            return Files.isRegularFile(file) && FileClaims.identityOf(file).equals(DeviceBacking.heldIdentity(held));
        } catch (IOException e) {
            return false;
        }
    }

    /** @return the trimmed, cleaned content of a sysfs attribute, or null if it is missing or empty */
    private static String sysfs(Path dir, String name) throws IOException {
        String value = readSysfs(dir.resolve(name));
        return value == null || value.isEmpty() ? null : clean(value);
    }

    private static String readSysfs(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
    }

    /** Runs of anything a person would have to quote in a shell become one {@code _}. */
    private static String clean(String value) {
        return UNSAFE.matcher(value.trim()).replaceAll("_");
    }

    /** @return {@code identity}, or if it is too long its kind and hash */
    static String compact(String identity) {
        return identity.length() <= MAX_LENGTH ? identity : hashed(identity);
    }

    /** @return {@code identity}'s kind and hash ({@code file:sha256=HEX}) */
    private static String hashed(String identity) {
        String kind = identity.substring(0, identity.indexOf(':') + 1);
        return kind + "sha256=" + HexFormat.of().formatHex(sha256().digest(identity.getBytes(StandardCharsets.UTF_8)));
    }

    /** Linux's encoding of a device number (glibc's gnu_dev_major/minor). */
    static String majorMinor(long dev) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL & 0xffffffffL);
        return major + ":" + minor;
    }

    /** @return a numeric attribute of the unix view, or null if the platform has none */
    private static Number unix(Path path, String name) throws IOException {
        try {
            return (Number) Files.getAttribute(path, "unix:" + name);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
