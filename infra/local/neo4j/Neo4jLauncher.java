// Embedded Neo4j Community DBMSs with the Bolt connector, for local integration tests.
//
// Usage: java [--add-opens ...] -cp 'lib/*' Neo4jLauncher.java <home-dir> [host] [bolt-port]
//            [logs-dir] [tls-dir] [-- <home-dir> [host] [bolt-port] [logs-dir] [tls-dir] ...]
// Each group of arguments (groups are separated by "--") starts one DBMS in this JVM: the
// second one starts in ~3 s instead of a JVM's ~8-14 s. Runs until killed (SIGTERM/SIGINT):
// a shutdown hook shuts every DBMS down cleanly.
// Without tls-dir, auth and Bolt encryption are disabled: loopback test use only.
// With tls-dir (holding server.key, PKCS#8 PEM, and server-chain.pem), Bolt requires TLS
// (server.bolt.tls_level=REQUIRED, the dbms.ssl.policy.bolt.* policy) and auth is on: the
// user neo4j gets the password in the environment variable FORESHOCK_NEO4J_INITIAL_PASSWORD
// (no password change required).

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

public class Neo4jLauncher {
    public static void main(String[] args) throws Exception {
        // One DBMS per group of arguments; groups are separated by "--".
        List<List<String>> groups = new ArrayList<>();
        groups.add(new ArrayList<>());
        for (String arg : args) {
            if (arg.equals("--")) {
                groups.add(new ArrayList<>());
            } else {
                groups.get(groups.size() - 1).add(arg);
            }
        }
        List<DatabaseManagementService> started = new ArrayList<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("Neo4jLauncher: shutting down");
            try {
                synchronized (started) {
                    for (DatabaseManagementService dbms : started) {
                        dbms.shutdown();
                    }
                }
            } finally {
                stopped.countDown();
            }
            System.out.println("Neo4jLauncher: stopped");
        }, "neo4j-shutdown"));
        try {
            for (List<String> group : groups) {
                start(group.toArray(new String[0]), started);
            }
        } catch (Exception e) {
            // One DBMS that cannot start stops the others too: no half-started process.
            e.printStackTrace();
            System.exit(1);
        }
        stopped.await();
    }

    static void start(String[] args, List<DatabaseManagementService> started) throws Exception {
        long t0 = System.nanoTime();
        Path home = Path.of(args.length > 0 ? args[0] : "neo4j-home").toAbsolutePath();
        String host = args.length > 1 ? args[1] : "127.0.0.1";
        int port = args.length > 2 ? Integer.parseInt(args[2]) : 7687;
        Path logs = args.length > 3 ? Path.of(args[3]).toAbsolutePath() : home.resolve("logs");

        Path tls = args.length > 4 ? Path.of(args[4]).toAbsolutePath() : null;
        String password = System.getenv("FORESHOCK_NEO4J_INITIAL_PASSWORD");
        if (tls != null && (password == null || password.length() < 8)) {
            throw new IllegalArgumentException(
                    "with a tls-dir, FORESHOCK_NEO4J_INITIAL_PASSWORD must hold a password of 8+ characters");
        }
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.logs_directory, logs)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(64))
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                // Default is 5 s each, which makes every stop take 10 s+.
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1))
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1));
        if (tls == null) {
            builder.setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    .setConfig(GraphDatabaseSettings.auth_enabled, false);
        } else {
            Files.createDirectories(tls.resolve("trusted"));
            Files.createDirectories(tls.resolve("revoked"));
            SslPolicyConfig bolt = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            builder.setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.REQUIRED)
                    .setConfig(GraphDatabaseSettings.auth_enabled, true)
                    .setConfig(bolt.enabled, true)
                    .setConfig(bolt.base_directory, tls)
                    .setConfig(bolt.private_key, tls.resolve("server.key"))
                    .setConfig(bolt.public_certificate, tls.resolve("server-chain.pem"))
                    .setConfig(bolt.client_auth, ClientAuth.NONE);
        }
        DatabaseManagementService dbms = builder.build();

        synchronized (started) {
            started.add(dbms);
        }
        // Touch the default database so startup errors surface here, not on first query.
        dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME).executeTransactionally("RETURN 1");
        if (tls != null) {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        }
        System.out.println("Neo4jLauncher: Bolt listening on " + (tls == null ? "bolt://" : "bolt+s://") + host + ":" + port
                + " (home " + home + ", logs " + logs + ", " + (System.nanoTime() - t0) / 1_000_000 + " ms)");
    }
}
