package org.kcopyd.impl.engine;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;

/**
 * Frees a direct buffer at once through {@code sun.misc.Unsafe.invokeCleaner} (module
 * jdk.unsupported), so that a closed client gives its memory back immediately instead of at a
 * garbage collection that may never come. Looked up through the system class loader so that
 * the bundle needs no import of {@code sun.misc} (frameworks differ in exporting it). Where it
 * is unavailable the buffer is left to the garbage collector.
 */
final class DirectMemory {

    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method invokeCleaner = null;
        try {
            Class<?> type = Class.forName("sun.misc.Unsafe", false, ClassLoader.getSystemClassLoader());
            Field field = type.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            unsafe = field.get(null);
            invokeCleaner = type.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            invokeCleaner = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = invokeCleaner;
    }

    private DirectMemory() {
    }

    static boolean canFree() {
        return INVOKE_CLEANER != null;
    }

    static void free(ByteBuffer owner) {
        if (INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, owner);
        } catch (ReflectiveOperationException e) {
            // The collector frees it later: the only cost is memory held a little longer.
        }
    }
}
