/**
 * Block devices, a check that a device wrapper forwards every call, a tracking opener and peer
 * checks for the tests of the kcopyd modules; not part of any shipped bundle.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.kcopyd.testdevices;
