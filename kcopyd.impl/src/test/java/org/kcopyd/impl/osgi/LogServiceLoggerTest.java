package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.regex.Matcher;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.device.MemoryBlockDevice;
import org.osgi.service.log.Logger;

/**
 * The engine's own notices go to the OSGi Log Service while the component has one bound, and to
 * the JDK's System.Logger while it has none.
 */
class LogServiceLoggerTest {

    /** One call to a Log Service logger: its level (the method's name), text and exception. */
    record Entry(String level, String text, Throwable thrown) {
    }

    /** A Log Service logger that records what it is given, formatted as the Log Service formats it. */
    private static Logger recordingLogger(List<Entry> into) {
        return (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> {
                    String name = method.getName();
                    if (name.startsWith("is")) {
                        return true;
                    }
                    if (name.equals("getName")) {
                        return "recording";
                    }
                    Object[] params = args.length > 1 && args[1] instanceof Object[] a ? a : new Object[0];
                    Throwable thrown = params.length > 0 && params[params.length - 1] instanceof Throwable t ? t : null;
                    String text = (String) args[0];
                    if (params.length > 0 && text.contains("{}")) {
                        text = text.replaceFirst("\\{\\}", Matcher.quoteReplacement(String.valueOf(params[0])));
                    }
                    into.add(new Entry(name, text, thrown));
                    return null;
                });
    }

    @Test
    void aCompletionCallbackThatThrowsIsReportedToTheBoundLogService() throws Exception {
        List<Entry> entries = new CopyOnWriteArrayList<>();
        try (ActiveComponent active = new ActiveComponent()) {
            active.component.bindLogger(recordingLogger(entries));
            KcopydClientFactory factory = active.clientFactoryFor("a.consumer");
            IllegalStateException bug = new IllegalStateException("the consumer's bug");
            // Braces in a client's name must not be taken for the Log Service's placeholders.
            try (KcopydClient client = factory.createClient(ClientOptions.builder().name("c{}").pages(16).build())) {
                MemoryBlockDevice src = new MemoryBlockDevice("src", 64);
                MemoryBlockDevice dst = new MemoryBlockDevice("dst", 64);
                CopyResult result = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of(),
                        (readError, writeErrors, context) -> {
                            throw bug;
                        }, null).toCompletableFuture().get(10, TimeUnit.SECONDS);
                assertThat(result.isSuccess()).isTrue();
            }

            assertThat(entries).contains(new Entry("error", "completion callback of kcopyd client 'c{}' threw", bug));
            assertThat(entries).anyMatch(e -> e.level().equals("info") && e.text().startsWith("kcopyd engine started"));
        }
    }

    @Test
    void withoutALogServiceNoticesGoToSystemLoggerAndFollowTheBinding() {
        String name = LogServiceLoggerTest.class.getName() + ".fallback";
        List<String> jdk = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                jdk.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger jul = java.util.logging.Logger.getLogger(name);
        jul.addHandler(handler);
        jul.setUseParentHandlers(false);
        try {
            LogServiceLogger log = new LogServiceLogger(name);
            List<Entry> first = new CopyOnWriteArrayList<>();
            List<Entry> second = new CopyOnWriteArrayList<>();
            Logger firstLogger = recordingLogger(first);
            Logger secondLogger = recordingLogger(second);

            log.log(System.Logger.Level.WARNING, "none bound");
            log.bind(firstLogger);
            log.log(System.Logger.Level.WARNING, "first bound");
            log.bind(secondLogger);
            log.unbind(firstLogger);
            log.log(System.Logger.Level.ERROR, "second bound, first gone");
            log.unbind(secondLogger);
            log.log(System.Logger.Level.INFO, "none bound again");

            assertThat(jdk).containsExactly("none bound", "none bound again");
            assertThat(first).containsExactly(new Entry("warn", "first bound", null));
            assertThat(second).containsExactly(new Entry("error", "second bound, first gone", null));
        } finally {
            jul.removeHandler(handler);
            jul.setUseParentHandlers(true);
        }
    }
}
