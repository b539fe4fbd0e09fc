package omnigate.orders;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The one handler: /health and /_admin/* are served as they are; everything else is counted and
 * then goes through the fault in force before reaching the token endpoint or the API.
 */
final class Router implements HttpHandler {
  private final Faults faults;
  private final Traffic traffic;
  private final AdminRoutes admin;
  private final TokenEndpoint tokenEndpoint;
  private final OrdersApi api;
  private final ScheduledExecutorService timer;
  private final Executor workers;
  private final PrintStream err;

  Router(Faults faults, Traffic traffic, AdminRoutes admin, TokenEndpoint tokenEndpoint, OrdersApi api,
      ScheduledExecutorService timer, Executor workers, PrintStream err) {
    this.faults = faults;
    this.traffic = traffic;
    this.admin = admin;
    this.tokenEndpoint = tokenEndpoint;
    this.api = api;
    this.timer = timer;
    this.workers = workers;
    this.err = err;
  }

  @Override
  public void handle(HttpExchange exchange) {
    Call call = new Call(exchange);
    if (call.path().equals("/health")) {
      guarded(call, () -> call.reply(200, Map.of("status", "ok")));
      // kept out of /_admin/requests like it is out of the stats: probes would flush the log
      traffic.finished(call, false, null);
    } else if (call.path().equals("/_admin") || call.path().startsWith("/_admin/")) {
      guarded(call, () -> admin.handle(call));
      traffic.finished(call, false, null);
    } else {
      traffic.counted();
      applyFault(call, faults.current());
    }
  }

  private void applyFault(Call call, Fault fault) {
    switch (fault.mode()) {
      case OK -> serve(call, false, null);
      case GARBAGE -> serve(call, true, "garbage");
      case LATENCY -> {
        // the wait holds no worker thread: a timer hands the call back to the pool when it is due
        Runnable later = () -> workers.execute(() -> serve(call, false, "latency"));
        timer.schedule(later, fault.latencyMs(), TimeUnit.MILLISECONDS);
      }
      case ERROR -> {
        if (faults.rollsError(fault)) {
          guarded(call, () -> call.fail(503, "Injected fault: service unavailable"));
          traffic.finished(call, true, "error");
        } else {
          serve(call, false, null);
        }
      }
      case DOWN -> {
        call.drop();
        traffic.finished(call, true, "down");
      }
      case HANG -> {
        faults.hold(call);
        traffic.finished(call, true, "hang");
      }
    }
  }

  private void serve(Call call, boolean garbage, String fault) {
    guarded(call, () -> {
      if (call.path().equals("/oauth/token")) {
        tokenEndpoint.handle(call);
      } else if (call.path().startsWith("/api/")) {
        api.handle(call, garbage);
      } else {
        call.fail(404, "No endpoint " + call.method() + " " + call.path() + ".");
      }
    });
    traffic.finished(call, true, fault);
  }

  private interface Action {
    void run() throws IOException;
  }

  /** Runs the action; a bug becomes a 500, a client gone mid-reply just closes the exchange. */
  private void guarded(Call call, Action action) {
    try {
      action.run();
    } catch (IOException e) {
      call.drop();
    } catch (RuntimeException e) {
      err.println("orders: " + call.method() + " " + call.path() + " failed: " + e);
      e.printStackTrace(err);
      if (call.status() != null) {
        call.drop();
        return;
      }
      try {
        call.fail(500, "Internal server error");
      } catch (IOException | RuntimeException ignored) {
        call.drop();
      }
    }
  }
}
