/**
 * The kcopyd daemon's control operations as a Java API: the {@link org.kcopyd.control.KcopydControl}
 * service lists, creates and removes snapshots, mirrors and NBD exports, runs copy, zero and merge
 * jobs, and reads and changes the engine's configuration, with the same checks for every caller
 * (the HTTP control API of {@code CONTROL-API.md}, the command line). Everything it reports is read
 * from the kcopyd services and Config Admin at the time of the call; the one state it keeps is its
 * jobs (the running ones and, bounded, those ended in the last minutes). The
 * {@link org.kcopyd.control.ControlApi} service (1.1.0) answers the HTTP API's requests, method, path
 * and body, with the same JSON, for callers that authenticate on their own (the Web Console plugin).
 * Also since 1.1.0 (not released before it), {@link org.kcopyd.control.KcopydControl#awaitConfiguration}
 * tells what Declarative Services made of any configuration ({@link org.kcopyd.control.ConfigurationOutcome}):
 * the command line's {@code --config-dir} check reads it there rather than from the DTOs itself.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.kcopyd.control;
