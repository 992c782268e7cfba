package org.kcopyd.device;

/**
 * The file system of an open file as {@code fstatfs(2)} tells it: its type ({@code f_type}, a
 * magic number of {@code linux/magic.h}) and its identifier ({@code f_fsid}, equal for two files
 * of one mounted file system). Values only; immutable.
 *
 * @param type the {@code f_type} magic number, as an unsigned 32-bit value
 * @param fsid the two 32-bit words of {@code f_fsid}, as one long
 */
record FileSystemId(long type, long fsid) {
}
