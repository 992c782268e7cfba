/**
 * The kcopyd daemon's control operations as a Java API: the {@link org.kcopyd.control.KcopydControl}
 * service lists, creates and removes snapshots, mirrors and NBD exports, runs copy, zero and merge
 * jobs, and reads and changes the engine's configuration, with the same checks for every caller
 * (the HTTP control API of {@code CONTROL-API.md}, the command line). Everything it reports is read
 * from the kcopyd services and Config Admin at the time of the call; the one state it keeps is its
 * jobs (the running ones and, bounded, those ended in the last minutes).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.kcopyd.control;
