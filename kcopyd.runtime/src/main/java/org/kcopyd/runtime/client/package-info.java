/**
 * The thin command-line client of the kcopyd daemon: {@link org.kcopyd.runtime.client.ThinClient}
 * runs the commands that manage what a daemon holds (snapshots, mirrors, exports, jobs, the
 * engine's configuration) over the control API, in the runtime jar's plain class path, before and
 * instead of any OSGi framework. Its only library is Gson.
 */
package org.kcopyd.runtime.client;
