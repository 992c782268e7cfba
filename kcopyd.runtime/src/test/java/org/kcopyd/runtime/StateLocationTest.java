package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class StateLocationTest {

    private static final Path CWD = Path.of("/work/here");

    private static Path resolve(List<String> args, Map<String, String> env) {
        return StateLocation.resolve(args, env, "/home/ann", CWD);
    }

    @Test
    void optionWinsOverEnvironmentAndIsFoundAfterTheCommand() {
        assertThat(resolve(List.of("snapshot", "list", "--state", "/var/lib/kcopyd"), Map.of("KCOPYD_STATE", "/other")))
                .isEqualTo(Path.of("/var/lib/kcopyd"));
        assertThat(resolve(List.of("--state=/var/lib/x/../kcopyd", "status"), Map.of()))
                .isEqualTo(Path.of("/var/lib/kcopyd"));
    }

    @Test
    void relativeNamesAreTakenAgainstTheWorkingDirectory() {
        assertThat(resolve(List.of("status", "--state", "st"), Map.of())).isEqualTo(Path.of("/work/here/st"));
        assertThat(resolve(List.of("status"), Map.of("KCOPYD_STATE", "../st"))).isEqualTo(Path.of("/work/st"));
    }

    @Test
    void argumentsAfterTheDoubleDashAreNotOptions() {
        assertThat(resolve(List.of("copy", "--", "--state", "x"), Map.of("KCOPYD_STATE", "/env")))
                .isEqualTo(Path.of("/env"));
    }

    @Test
    void defaultIsXdgStateHomeWhenAbsoluteElseLocalState() {
        assertThat(resolve(List.of("status"), Map.of("XDG_STATE_HOME", "/xdg"))).isEqualTo(Path.of("/xdg/kcopyd"));
        assertThat(resolve(List.of("status"), Map.of("XDG_STATE_HOME", "relative")))
                .isEqualTo(Path.of("/home/ann/.local/state/kcopyd"));
        assertThat(resolve(List.of("status"), Map.of())).isEqualTo(Path.of("/home/ann/.local/state/kcopyd"));
    }

    @Test
    void refusesMissingEmptyOrRepeatedValues() {
        assertThatThrownBy(() -> resolve(List.of("status", "--state"), Map.of()))
                .hasMessage("--state needs a directory");
        assertThatThrownBy(() -> resolve(List.of("status", "--state="), Map.of()))
                .hasMessageContaining("not an empty name");
        assertThatThrownBy(() -> resolve(List.of("--state", "/a", "status", "--state", "/b"), Map.of()))
                .hasMessage("--state is given twice ('/a' and '/b')");
        assertThatThrownBy(() -> resolve(List.of("status"), Map.of("KCOPYD_STATE", "")))
                .hasMessage("KCOPYD_STATE is set but empty");
    }
}
