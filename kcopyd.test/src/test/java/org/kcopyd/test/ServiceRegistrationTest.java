package org.kcopyd.test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.KcopydClientFactory;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.ServiceReference;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class ServiceRegistrationTest extends KcopydTestSupport {

    @Test
    public void theFactoryAndTheDeviceOpenerAreRegisteredWithTheEffectiveSettings() throws Exception {
        ServiceReference<KcopydClientFactory> factory = reference(KcopydClientFactory.class);
        ServiceReference<BlockDeviceOpener> opener = reference(BlockDeviceOpener.class);

        assertEquals("kcopyd.impl", factory.getBundle().getSymbolicName());
        assertEquals("kcopyd.impl", opener.getBundle().getSymbolicName());
        assertEquals(2048, factory.getProperty("defaultPages"));
        assertEquals(64, factory.getProperty("maxDestinations"));
        assertEquals(Boolean.FALSE, opener.getProperty("directIo"));
        assertEquals(2048, service(KcopydClientFactory.class).settings().defaultPages());
    }

    @Test
    public void runsOnTheFrameworkThisSuiteWasStartedFor() {
        String expected = "equinox".equals(System.getProperty("kcopyd.test.framework")) ? "org.eclipse.osgi"
                : "org.apache.felix.framework";
        assertEquals(expected, context.getBundle(0).getSymbolicName());
        assertEquals(org.osgi.framework.Bundle.ACTIVE, bundle("kcopyd.impl").getState());
        assertEquals(org.osgi.framework.Bundle.ACTIVE, bundle("kcopyd.api").getState());
    }

    @Test
    public void theMetatypeDescriptionIsVisibleWithNamesDefaultsAndRanges() throws Exception {
        MetaTypeService metatype = service(MetaTypeService.class);
        ObjectClassDefinition ocd = metatype.getMetaTypeInformation(bundle("kcopyd.impl"))
                .getObjectClassDefinition(KcopydClientFactory.PID, null);
        assertNotNull(ocd);
        Map<String, AttributeDefinition> attributes = Arrays.stream(ocd.getAttributeDefinitions(ObjectClassDefinition.ALL))
                .collect(Collectors.toMap(AttributeDefinition::getID, a -> a));
        assertTrue(attributes.keySet().containsAll(java.util.List.of("defaultPages", "maxPagesPerClient", "pageBudget",
                "subJobKiB", "subJobsPerJob", "maxDestinations", "maxQueuedJobs", "ioThreads", "throttleIoPercent",
                "throttleBytesPerSecond", "directIo")));
        AttributeDefinition pages = attributes.get("defaultPages");
        assertEquals("Default pages per client", pages.getName());
        assertEquals("2048", pages.getDefaultValue()[0]);
        assertTrue(pages.getDescription().contains("4 KiB"));
        assertTrue("0 is below the range", pages.validate("0").length() > 0);
        assertTrue("262145 is above the range", pages.validate("262145").length() > 0);
        assertEquals("", pages.validate("2048"));
        for (AttributeDefinition a : attributes.values()) {
            assertNotNull(a.getID() + " has a description", a.getDescription());
            assertNotNull(a.getID() + " has a default", a.getDefaultValue());
        }
    }
}
