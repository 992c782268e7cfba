package org.kcopyd.web.internal;

import java.util.Hashtable;

/** The service properties that make a servlet a Felix Web Console plugin (4.x and 5.x alike). Stateless. */
public final class ConsoleProperties {

    private ConsoleProperties() {
    }

    /** @return label, title and category of the "kcopyd" tab */
    public static Hashtable<String, Object> of() {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("felix.webconsole.label", ConsolePage.LABEL);
        props.put("felix.webconsole.title", ConsolePage.TITLE);
        props.put("felix.webconsole.category", "Storage");
        return props;
    }
}
