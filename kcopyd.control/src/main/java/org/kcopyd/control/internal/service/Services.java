package org.kcopyd.control.internal.service;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.control.ControlException;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * Looks services up in the registry at the time of the call, and uses one only while a function
 * reads it (got and released around it). Thread-safe.
 */
final class Services {

    private final BundleContext context;

    Services(BundleContext context) {
        this.context = context;
    }

    /** @return the references of {@code type} matching {@code filter} (null: all), sorted by ranking */
    <T> List<ServiceReference<T>> references(Class<T> type, String filter) {
        try {
            Collection<ServiceReference<T>> refs = context.getServiceReferences(type, filter);
            List<ServiceReference<T>> list = new ArrayList<>(refs);
            list.sort(null);
            return list;
        } catch (InvalidSyntaxException e) {
            throw ControlException.badRequest("'" + Text.printable(filter) + "' is not a valid service filter: "
                    + e.getMessage());
        } catch (IllegalStateException stopping) {
            throw ControlException.unavailable("kcopyd.control is stopping");
        }
    }

    /** @return what {@code reading} returns of the service, or null if it went away meanwhile */
    <T, R> R read(ServiceReference<T> ref, Function<T, R> reading) {
        T service = context.getService(ref);
        if (service == null) {
            return null;
        }
        try {
            return reading.apply(service);
        } finally {
            context.ungetService(ref);
        }
    }

    /**
     * A service got for as long as a job needs it, and released once.
     *
     * @param <T> its type
     */
    final class Held<T> implements AutoCloseable {
        private final ServiceReference<T> ref;
        private final T service;
        private boolean released;

        private Held(ServiceReference<T> ref, T service) {
            this.ref = ref;
            this.service = service;
        }

        /** @return the service */
        T service() {
            return service;
        }

        /** @return its reference */
        ServiceReference<T> reference() {
            return ref;
        }

        /** Releases it (idempotent). */
        @Override
        public synchronized void close() {
            if (!released) {
                released = true;
                try {
                    context.ungetService(ref);
                } catch (IllegalStateException stopping) {
                    // The bundle is stopping: the framework releases it.
                }
            }
        }
    }

    /** @return the service, got until the holder is closed; null if it went away meanwhile */
    <T> Held<T> hold(ServiceReference<T> ref) {
        T service;
        try {
            service = context.getService(ref);
        } catch (IllegalStateException stopping) {
            throw ControlException.unavailable("kcopyd.control is stopping");
        }
        return service == null ? null : new Held<>(ref, service);
    }

    /**
     * What a snapshot's or mirror's not-open status service says.
     *
     * @param reason    why it is not open (control characters escaped)
     * @param refused   whether it was refused, not to be tried again by itself (the status's
     *                  {@code NOT_OPEN_REFUSED} property)
     * @param creating  whether it is new and being opened, to be open or refused soon ({@code NOT_OPEN_CREATING})
     * @param exception with {@code refused}, the class name of the exception that refused it
     *                  ({@code NOT_OPEN_EXCEPTION}), else empty
     */
    record NotOpen(String reason, boolean refused, boolean creating, String exception) {
    }

    /**
     * The service properties of one kind's not-open status.
     *
     * @param key       the status's property, whose value is the name
     * @param refused   its refusal's property
     * @param creating  the property of a new one being opened
     * @param exception the property naming the refusal's exception class
     */
    record StatusKeys(String key, String refused, String creating, String exception) {
        static final StatusKeys SNAPSHOT = new StatusKeys(Snapshot.NOT_OPEN, Snapshot.NOT_OPEN_REFUSED,
                Snapshot.NOT_OPEN_CREATING, Snapshot.NOT_OPEN_EXCEPTION);
        static final StatusKeys MIRROR = new StatusKeys(Mirror.NOT_OPEN, Mirror.NOT_OPEN_REFUSED,
                Mirror.NOT_OPEN_CREATING, Mirror.NOT_OPEN_EXCEPTION);
    }

    /**
     * @param keys the snapshots' or the mirrors' status properties
     * @param name the snapshot's or mirror's name
     * @return why the snapshot or mirror of that name is not open, as its component's not-open
     *         status service says now, or null if none is registered
     */
    NotOpen notOpen(StatusKeys keys, String name) {
        @SuppressWarnings("rawtypes")
        List<ServiceReference<Supplier>> refs = references(Supplier.class, "(" + keys.key() + "="
                + Configurations.escape(name) + ")");
        if (refs.isEmpty()) {
            return null;
        }
        ServiceReference<?> ref = refs.get(0);
        // The properties first: a component sets the reason before the properties that go with it, so a refusal
        // read here comes with its own reason, never the one before it (a refusal said "opening: ...", CI saw it).
        boolean refused = Boolean.TRUE.equals(ref.getProperty(keys.refused()));
        boolean creating = Boolean.TRUE.equals(ref.getProperty(keys.creating()));
        Object exception = ref.getProperty(keys.exception());
        String reason = read(refs.get(0), s -> String.valueOf(s.get()));
        return reason == null ? null : new NotOpen(Text.printable(reason), refused, creating,
                exception == null ? "" : exception.toString());
    }

    /** @return the {@link BlockDevice} services matching an LDAP filter over their properties */
    List<ServiceReference<BlockDevice>> devices(String filter) {
        return references(BlockDevice.class, filter);
    }

    /** @return the property as a string, the first element of an array or list, or null */
    static String property(ServiceReference<?> ref, String key) {
        Object v = ref.getProperty(key);
        if (v instanceof String[] a) {
            return a.length == 0 ? null : a[0];
        }
        if (v instanceof Collection<?> c) {
            return c.isEmpty() ? null : String.valueOf(c.iterator().next());
        }
        return v == null ? null : v.toString();
    }

    /** @return the property's values as strings */
    static List<String> properties(ServiceReference<?> ref, String key) {
        Object v = ref.getProperty(key);
        if (v instanceof String[] a) {
            return Arrays.asList(a);
        }
        if (v instanceof Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        return v == null ? List.of() : List.of(v.toString());
    }
}
