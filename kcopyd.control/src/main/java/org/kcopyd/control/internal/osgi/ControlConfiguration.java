package org.kcopyd.control.internal.osgi;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The configuration of the control API ({@value ControlComponent#PID}), written by the daemon. */
@ObjectClassDefinition(name = "kcopyd control API", description = "The daemon's HTTP control API at /api/v1 on "
        + "the Servlet Whiteboard, for requests carrying the token of the token file.")
public @interface ControlConfiguration {

    /** @return the token file's absolute path */
    @AttributeDefinition(description = "Absolute path of the file whose first line is the token (64 hexadecimal "
            + "characters); it must be readable and writable by its owner only.")
    String tokenFile();
}
