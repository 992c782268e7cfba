package org.kcopyd.test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogReaderService;

@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class ConfigurationTest extends KcopydTestSupport {

    private Configuration engineConfiguration() throws Exception {
        return service(ConfigurationAdmin.class).getConfiguration(KcopydClientFactory.PID, "?");
    }

    private static Dictionary<String, Object> properties(Object... keyValues) {
        Hashtable<String, Object> d = new Hashtable<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            d.put((String) keyValues[i], keyValues[i + 1]);
        }
        return d;
    }

    private Object published(String property) {
        ServiceReference<KcopydClientFactory> ref = context.getServiceReference(KcopydClientFactory.class);
        return ref == null ? null : ref.getProperty(property);
    }

    @Test
    public void anUpdateChangesTheDefaultPagesOfNewClientsWithoutReRegistering() throws Exception {
        KcopydClientFactory factory = service(KcopydClientFactory.class);
        Object serviceId = reference(KcopydClientFactory.class).getProperty("service.id");
        KcopydClient before = factory.createClient();
        assertEquals(2048, before.pages());

        engineConfiguration().update(properties("defaultPages", 64, "maxQueuedJobs", "100"));
        await("defaultPages 64 published", () -> Integer.valueOf(64).equals(published("defaultPages")));

        assertEquals(serviceId, reference(KcopydClientFactory.class).getProperty("service.id"));
        assertEquals(100, published("maxQueuedJobs"));
        KcopydClient after = factory.createClient();
        assertEquals(64, after.pages());
        assertEquals("existing clients keep their pages", 2048, before.pages());
        before.close();
        after.close();
    }

    @Test
    public void anInvalidConfigurationIsLoggedAndTheLastValidOneKept() throws Exception {
        List<String> log = new CopyOnWriteArrayList<>();
        for (ServiceReference<LogReaderService> ref : context.getServiceReferences(LogReaderService.class, null)) {
            context.getService(ref).addLogListener(entry -> log.add(entry.getMessage()));
        }
        KcopydClientFactory factory = service(KcopydClientFactory.class);
        engineConfiguration().update(properties("defaultPages", 128));
        await("defaultPages 128 published", () -> Integer.valueOf(128).equals(published("defaultPages")));

        engineConfiguration().update(properties("defaultPages", 0));
        await("the refusal logged", () -> log.stream().anyMatch(
                m -> m.contains("defaultPages 0 is outside the allowed range 1..262144")));
        engineConfiguration().update(properties("defaultPages", 128, "subJobKiB", "big"));
        await("the wrong type logged", () -> log.stream().anyMatch(
                m -> m.contains("subJobKiB value 'big' is not a whole number; the allowed range is 4..16384")));

        assertEquals(128, published("defaultPages"));
        assertEquals(512, published("subJobKiB"));
        KcopydClient client = factory.createClient();
        assertEquals(128, client.pages());
        client.close();
        assertTrue(log.stream().anyMatch(m -> m.contains("refused") && m.contains("keeping")));
    }

    @Test
    public void deletingTheConfigurationGoesBackToTheDefaultsInPlace() throws Exception {
        Object serviceId = reference(KcopydClientFactory.class).getProperty("service.id");
        engineConfiguration().update(properties("defaultPages", 256, "throttleIoPercent", 50));
        await("defaultPages 256 published", () -> Integer.valueOf(256).equals(published("defaultPages")));

        engineConfiguration().delete();

        await("defaults published again", () -> Integer.valueOf(2048).equals(published("defaultPages")));
        assertEquals(100, published("throttleIoPercent"));
        assertEquals(serviceId, reference(KcopydClientFactory.class).getProperty("service.id"));
        assertEquals(100, service(KcopydClientFactory.class).throttle("default").ioPercent());
    }

    @Test
    public void creatingClientsBeyondThePageBudgetFailsNamingTheBudget() throws Exception {
        // Other bundles (the test consumer, snapshots) hold clients too: fill what is left.
        engineConfiguration().update(properties("pageBudget", 20000, "maxPagesPerClient", 2000, "defaultPages", 1000));
        await("pageBudget published", () -> Integer.valueOf(20000).equals(published("pageBudget")));
        KcopydClientFactory factory = service(KcopydClientFactory.class);
        List<KcopydClient> made = new java.util.ArrayList<>();
        try {
            while (made.size() <= 10) {
                made.add(factory.createClient(2000));
            }
            throw new AssertionError("11 clients of 2000 pages fit in a budget of 20000");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("asks for 2000 pages"));
            assertTrue(e.getMessage(), e.getMessage().matches(".*, \\d+ of the budget 20000 are reserved by \\d+ clients"));
            assertTrue(made.size() >= 7);
        } finally {
            made.forEach(KcopydClient::close);
        }
    }
}
