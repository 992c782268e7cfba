package org.kcopyd.control.internal.osgi;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ServletApiTest {

    @Test
    void aClassLoaderThatSeesTheJakartaServletApiPasses() {
        assertThatCode(() -> ServletApi.require(getClass().getClassLoader())).doesNotThrowAnyException();
    }

    /** A bundle whose optional import of jakarta.servlet is not wired sees no such class: what is missing is said. */
    @Test
    void withoutTheApiTheComponentRefusesNamingThePackageAndWhatToInstall() {
        ClassLoader withoutServlets = new ClassLoader(ClassLoader.getPlatformClassLoader()) {
        };

        assertThatThrownBy(() -> ServletApi.require(withoutServlets)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("org.kcopyd.control: the HTTP control API cannot be served")
                .hasMessageContaining("package jakarta.servlet.http")
                .hasMessageContaining("install a Servlet Whiteboard (Felix HTTP Jetty 5")
                .hasMessageContaining("The KcopydControl service runs without it.");
    }
}
