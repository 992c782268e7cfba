/** A consumer of the kcopyd service, for the in-framework tests. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.kcopyd.testbundle;
