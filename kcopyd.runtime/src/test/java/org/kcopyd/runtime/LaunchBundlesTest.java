package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LaunchBundlesTest {

    private static final String ALL = "jar/org.osgi.service.log-1.5.0.jar,jar/pax-logging-api-2.3.0.jar,"
            + "jar/pax-logging-log4j2-2.3.0.jar,jar/org.apache.felix.log-1.3.0.jar,"
            + "jar/org.apache.felix.configadmin-1.9.26.jar,"
            + "jar/org.apache.felix.fileinstall-3.7.4.jar,jar/org.apache.felix.gogo.runtime-1.1.6.jar,"
            + "jar/org.apache.felix.gogo.shell-1.1.4.jar,jar/org.apache.felix.http.servlet-api-3.0.0.jar,"
            + "jar/org.apache.felix.http.jetty-5.1.26.jar,jar/gson-2.13.2.jar,jar/kcopyd.impl-1.0.0-SNAPSHOT.jar,"
            + "jar/kcopyd.control-1.0.0-SNAPSHOT.jar,jar/kcopyd.daemon-1.0.0-SNAPSHOT.jar,jar/kcopyd.web-1.0.0-SNAPSHOT.jar,"
            + "jar/kcopyd.cli-1.0.0-SNAPSHOT.jar";

    @Test
    void withoutAConfigurationDirectoryAOneShotCommandStartsNothingThatWatchesADirectoryOrListens() {
        assertThat(LaunchBundles.oneShot(ALL, false)).isEqualTo("jar/org.osgi.service.log-1.5.0.jar,"
                + "jar/org.apache.felix.log-1.3.0.jar,jar/org.apache.felix.configadmin-1.9.26.jar,"
                + "jar/org.apache.felix.gogo.runtime-1.1.6.jar,jar/org.apache.felix.gogo.shell-1.1.4.jar,"
                + "jar/kcopyd.impl-1.0.0-SNAPSHOT.jar,jar/kcopyd.control-1.0.0-SNAPSHOT.jar,"
                + "jar/kcopyd.cli-1.0.0-SNAPSHOT.jar");
    }

    /** The shell's snapshot and mirror commands call kcopyd.control's service: it runs, without HTTP. */
    @Test
    void withAConfigurationDirectoryFileInstallAndTheControlServiceAreStartedButNoDaemonOrHttpBundle() {
        assertThat(LaunchBundles.oneShot(ALL, true)).contains("org.apache.felix.fileinstall", "kcopyd.control-")
                .doesNotContain("http", "pax-logging", "kcopyd.daemon", "gson", "kcopyd.web");
    }

    @Test
    void theDaemonStartsItsBundlesAndNoShellFileInstallCommandLineOrFelixLog() {
        assertThat(LaunchBundles.daemon(ALL)).isEqualTo("jar/pax-logging-api-2.3.0.jar,"
                + "jar/pax-logging-log4j2-2.3.0.jar,jar/org.apache.felix.configadmin-1.9.26.jar,"
                + "jar/org.apache.felix.http.servlet-api-3.0.0.jar,jar/org.apache.felix.http.jetty-5.1.26.jar,"
                + "jar/gson-2.13.2.jar,jar/kcopyd.impl-1.0.0-SNAPSHOT.jar,jar/kcopyd.control-1.0.0-SNAPSHOT.jar,"
                + "jar/kcopyd.daemon-1.0.0-SNAPSHOT.jar,jar/kcopyd.web-1.0.0-SNAPSHOT.jar");
    }
}
