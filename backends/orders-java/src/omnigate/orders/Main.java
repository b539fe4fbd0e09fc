package omnigate.orders;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/** Composition root: read config, load the seed, wire the parts, listen on 127.0.0.1. */
public final class Main {
  static final int WORKER_THREADS = 32;
  static final int BACKLOG = 256;
  /** Loopback unless BIND_HOST says otherwise (containers). */
  static final String BIND_ADDRESS = System.getenv().getOrDefault("BIND_HOST", "127.0.0.1");

  private Main() {}

  public static void main(String[] args) {
    // Without TCP_NODELAY every keep-alive reply after the first waits ~40 ms for the client's
    // delayed ACK (Nagle): the JDK server leaves it off unless told.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    PrintStream err = System.err;
    Config config;
    try {
      config = Config.fromEnv(System.getenv());
    } catch (IllegalArgumentException e) {
      throw exit(err, e.getMessage());
    }
    try {
      run(config, System.out, err);
    } catch (NoSuchFileException e) {
      throw exit(err, "seed file " + e.getFile() + " is missing; run `node scripts/seed.mjs`");
    } catch (BindException e) {
      throw exit(err, "cannot listen on " + BIND_ADDRESS + ":" + config.port() + ": " + e.getMessage());
    } catch (IllegalStateException | IOException e) {
      throw exit(err, e.getMessage());
    }
  }

  private static Error exit(PrintStream err, String reason) {
    err.println("orders: cannot start: " + reason);
    System.exit(1);
    return new AssertionError("unreachable");
  }

  static void run(Config config, PrintStream out, PrintStream err) throws IOException {
    long started = System.nanoTime();
    Store store = SeedLoader.load(config.seedDir());
    Clock clock = Clock.systemUTC();
    Tokens tokens = new Tokens(config.tokenTtl(), clock);
    Faults faults = new Faults();
    Traffic traffic = new Traffic(out, clock);
    OrderChanges changes = new OrderChanges(store, clock, config.zone());
    ExecutorService workers = Executors.newFixedThreadPool(WORKER_THREADS);
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    Router router =
        new Router(
            faults,
            traffic,
            new AdminRoutes(faults, traffic, tokens, changes),
            new TokenEndpoint(config.clientId(), config.clientSecret(), tokens),
            new OrdersApi(store, tokens, changes),
            timer,
            workers,
            err);

    HttpServer server =
        HttpServer.create(new InetSocketAddress(BIND_ADDRESS, config.port()), BACKLOG);
    server.createContext("/", router);
    server.setExecutor(workers);
    server.start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> {
              server.stop(0);
              timer.shutdownNow();
              workers.shutdownNow();
            }));
    err.printf(
        "orders: listening on http://127.0.0.1:%d (%d customers, %d orders, %d products from %s;"
            + " change feed epoch %s) in %d ms%n",
        config.port(), store.customerCount(), store.orderCount(), store.productCount(), config.seedDir(),
        changes.epoch(),
        (System.nanoTime() - started) / 1_000_000);
  }
}
