// Single-node OpenSearch for local integration tests, without the distribution tarball.
//
// Usage: java [jvm opts] -cp 'lib/*' OpenSearchLauncher.java path.home=<dir> [key=value ...]
// Every argument is an OpenSearch setting (like -Ekey=value); the defaults below give a
// single-node cluster on 127.0.0.1:9200 (HTTP) / 9300 (transport), no security plugin.
// The modules a stock distribution ships as separate plugins are loaded from the classpath,
// and so are the plugins named (comma-separated class names) in -Dforeshock.opensearch.plugins,
// e.g. org.opensearch.security.OpenSearchSecurityPlugin for the secure node.
// Runs until killed (SIGTERM/SIGINT): a shutdown hook closes the node.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public class OpenSearchLauncher {
    static final List<Class<? extends Plugin>> MODULES = Arrays.asList(
            Netty4Plugin.class,          // HTTP + transport
            CommonAnalysisPlugin.class,  // standard analyzers/token filters
            MapperExtrasPlugin.class,    // scaled_float, rank_feature, search_as_you_type, ...
            PainlessPlugin.class,        // scripts (update_by_query, scripted fields, ...)
            ReindexPlugin.class);        // _reindex, _update_by_query, _delete_by_query

    static class LocalNode extends Node {
        LocalNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Settings.Builder b = Settings.builder()
                .put("cluster.name", "foreshock-local")
                .put("node.name", "foreshock-local")
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", "9200")
                .put("transport.port", "9300")
                .put("cluster.routing.allocation.disk.threshold_enabled", "false")
                .put("action.auto_create_index", "true");
        String extra = System.getProperty("foreshock.opensearch.plugins", "");
        if (extra.isBlank()) {
            // With a security plugin, its own secure transports are the defaults instead.
            b.put("http.type", "netty4").put("transport.type", "netty4");
        }
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got: " + arg);
            }
            b.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        Settings settings = b.build();
        if (!settings.hasValue("path.home")) {
            throw new IllegalArgumentException("path.home=<dir> is required");
        }
        Environment env = InternalSettingsPreparer.prepareEnvironment(
                settings, Map.of(), null, () -> settings.get("node.name"));
        List<Class<? extends Plugin>> plugins = new ArrayList<>(MODULES);
        for (String name : extra.split(",")) {
            if (!name.isBlank()) {
                plugins.add(Class.forName(name.strip()).asSubclass(Plugin.class));
            }
        }
        Node node = new LocalNode(env, plugins);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("OpenSearchLauncher: shutting down");
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
            System.out.println("OpenSearchLauncher: stopped");
        }, "opensearch-shutdown"));

        node.start();
        System.out.println("OpenSearchLauncher: started, HTTP on http://"
                + settings.get("network.host") + ":" + settings.get("http.port"));
        stopped.await();
    }
}
