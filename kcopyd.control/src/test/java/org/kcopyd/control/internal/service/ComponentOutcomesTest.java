package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

class ComponentOutcomesTest {

    @Test
    void aFailureTextGivesItsMessageAndTellsARefusalAndAClaim() {
        String refusal = "java.lang.IllegalArgumentException: chunkSectors 24 is not a power of two\n\tat x.y(Z.java:1)";
        assertThat(ComponentOutcomes.failureMessage(refusal)).isEqualTo("chunkSectors 24 is not a power of two");
        assertThat(new ComponentOutcomes.Outcome(ComponentOutcomes.State.FAILED, "m",
                ComponentOutcomes.exceptionClass(refusal)).refused()).isTrue();
        String claimed = "org.kcopyd.device.FileClaimedException: /a is the origin of snapshot s1";
        ComponentOutcomes.Outcome o = new ComponentOutcomes.Outcome(ComponentOutcomes.State.FAILED, "m",
                ComponentOutcomes.exceptionClass(claimed));
        assertThat(o.inUse()).isTrue();
        assertThat(o.refused()).isFalse();
        assertThat(ComponentOutcomes.failureMessage("java.io.IOException")).isEqualTo("IOException");
        assertThat(ComponentOutcomes.failureMessage(null)).contains("without a reason");
    }

    /**
     * H43 F3's follow-up: a configuration changed to mend a failed activation (replace-leg of a mirror
     * refused at the start) was answered with the old failure, DS not having taken the change yet.
     */
    @Test
    void aFailedActivationOfAnEarlierConfigurationIsPendingNotFailed() {
        ComponentDescriptionDTO d = new ComponentDescriptionDTO();
        d.name = "org.kcopyd.mirror";
        d.immediate = true;
        ComponentConfigurationDTO failed = new ComponentConfigurationDTO();
        failed.description = d;
        failed.state = ComponentConfigurationDTO.FAILED_ACTIVATION;
        failed.failure = "java.lang.IllegalStateException: mirror 'm': not opened";
        failed.properties = Map.of(Constants.SERVICE_PID, "org.kcopyd.mirror~m", "legs", new String[] {"a", "nbd://x/"});
        ServiceComponentRuntime scr = (ServiceComponentRuntime) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceComponentRuntime.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getComponentDescriptionDTOs" -> List.of(d);
                    case "getComponentConfigurationDTOs" -> List.of(failed);
                    default -> throw new UnsupportedOperationException(method.getName());
                });

        Hashtable<String, Object> same = new Hashtable<>(Map.of("legs", new String[] {"a", "nbd://x/"}));
        assertThat(ComponentOutcomes.of(scr, "org.kcopyd.mirror~m", same).state())
                .isEqualTo(ComponentOutcomes.State.FAILED);
        Hashtable<String, Object> changed = new Hashtable<>(Map.of("legs", new String[] {"a", "b"}));
        ComponentOutcomes.Outcome pending = ComponentOutcomes.of(scr, "org.kcopyd.mirror~m", changed);
        assertThat(pending.state()).isEqualTo(ComponentOutcomes.State.PENDING);
        assertThat(pending.reason()).isEqualTo("component org.kcopyd.mirror has not taken the latest configuration");
    }
}
