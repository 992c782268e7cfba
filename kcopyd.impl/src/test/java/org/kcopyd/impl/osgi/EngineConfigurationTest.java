package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.xml.parsers.DocumentBuilderFactory;

import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.EngineSettings.Setting;
import org.kcopyd.api.KcopydClientFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The Metatype of PID {@code org.kcopyd.engine} says what {@link Setting} says. Annotations
 * take only constants, so {@link EngineConfiguration} writes the defaults, ranges and
 * descriptions out again; this test keeps the copy equal to the table. It reads the Metatype
 * resource bnd generates from the annotation (what the Web Console and Karaf show) and the
 * annotation's own defaults (what DS would hand the component).
 */
class EngineConfigurationTest {

    private static final String RESOURCE = "OSGI-INF/metatype/" + KcopydClientFactory.PID + ".xml";

    /** The attribute definitions of the Metatype resource, by id, in the order written. */
    private static Map<String, Element> attributes() throws Exception {
        try (InputStream in = EngineConfiguration.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            assertThat(in).as(RESOURCE + " (bnd writes it while building the bundle: run the test with Maven)")
                    .isNotNull();
            NodeList ads = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in)
                    .getElementsByTagName("AD");
            Map<String, Element> byId = new LinkedHashMap<>();
            for (int i = 0; i < ads.getLength(); i++) {
                Element ad = (Element) ads.item(i);
                byId.put(ad.getAttribute("id"), ad);
            }
            return byId;
        }
    }

    /** The Metatype description of a setting: the table's description, then its range for numbers. */
    static String description(Setting s) {
        return s.defaultValue() instanceof Boolean ? s.description() : s.description() + " Range: " + s.range() + ".";
    }

    @Test
    void theMetatypeListsExactlyTheSettingsOfTheTableInItsOrder() throws Exception {
        assertThat(attributes().keySet()).containsExactly(Arrays.stream(Setting.values()).map(Setting::propertyName)
                .toArray(String[]::new));
    }

    @Test
    void everyAttributeHasTheTypeDefaultRangeAndDescriptionOfItsSetting() throws Exception {
        Map<String, Element> attributes = attributes();
        SoftAssertions softly = new SoftAssertions();
        for (Setting s : Setting.values()) {
            String name = s.propertyName();
            Element ad = attributes.get(name);
            assertThat(ad).as(name + " in " + RESOURCE).isNotNull();
            Object defaultValue = s.defaultValue();

            softly.assertThat(ad.getAttribute("type")).as(name + " type")
                    .isEqualTo(defaultValue.getClass().getSimpleName());
            softly.assertThat(ad.getAttribute("default")).as(name + " default").isEqualTo(String.valueOf(defaultValue));
            softly.assertThat(ad.getAttribute("description")).as(name + " description").isEqualTo(description(s));
            if (defaultValue instanceof Boolean) {
                softly.assertThat(ad.getAttribute("min") + ad.getAttribute("max")).as(name + " min and max").isEmpty();
            } else {
                softly.assertThat(ad.getAttribute("min")).as(name + " min").isEqualTo(String.valueOf(s.min()));
                softly.assertThat(ad.getAttribute("max")).as(name + " max").isEqualTo(String.valueOf(s.max()));
            }
        }
        softly.assertAll();
    }

    @Test
    void theAnnotationsDefaultsAreTheTablesDefaults() throws Exception {
        Map<String, Object> defaults = new LinkedHashMap<>();
        for (Method m : EngineConfiguration.class.getDeclaredMethods()) {
            defaults.put(m.getName(), m.getDefaultValue());
        }
        Map<String, Object> table = new LinkedHashMap<>();
        for (Setting s : Setting.values()) {
            table.put(s.propertyName(), s.defaultValue());
        }

        assertThat(defaults).isEqualTo(table);
    }
}
