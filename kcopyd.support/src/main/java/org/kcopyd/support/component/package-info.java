/**
 * What the snapshot and mirror components share: the not-open status service each registers while
 * its configuration's snapshot or mirror is not open ({@link org.kcopyd.support.component.NotOpenStatus}),
 * the logging of a refusal when it is tried again ({@link org.kcopyd.support.component.Refusals}), and
 * the growing delays between its attempts ({@link org.kcopyd.support.component.Delays}). Copied into each
 * bundle that uses it by bnd ({@code -conditionalpackage}): private there, never exported.
 */
package org.kcopyd.support.component;
