/**
 * The kcopyd daemon's control operations as a Java API: the {@link org.kcopyd.control.KcopydControl}
 * service lists, creates and removes snapshots and NBD exports and reads and changes the engine's
 * configuration, with the same checks for every caller (the HTTP control API of
 * {@code CONTROL-API.md}, the command line). Everything it reports is read from the kcopyd
 * services and Config Admin at the time of the call: it keeps no state of its own.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.kcopyd.control;
