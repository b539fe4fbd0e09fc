package omnigate.orders;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** /_admin/*: fault injection, stats, the request log and token expiry. No auth, never faulted. */
final class AdminRoutes {
  private final Faults faults;
  private final Traffic traffic;
  private final Tokens tokens;

  AdminRoutes(Faults faults, Traffic traffic, Tokens tokens) {
    this.faults = faults;
    this.traffic = traffic;
    this.tokens = tokens;
  }

  void handle(Call call) throws IOException {
    String route = call.method() + " " + call.path();
    switch (route) {
      case "GET /_admin/faults" -> call.reply(200, faults.current().toJson());
      case "POST /_admin/faults" -> setFault(call);
      case "GET /_admin/stats" -> call.reply(200, stats());
      case "POST /_admin/stats/reset" -> {
        traffic.resetCount();
        tokens.resetCount();
        call.reply(200, stats());
      }
      case "GET /_admin/requests" -> call.reply(200, traffic.recent());
      case "POST /_admin/tokens/expire" -> call.reply(200, Map.of("expired", tokens.expireAll()));
      default -> {
        if (isKnownPath(call.path())) {
          call.fail(405, "Request method '" + call.method() + "' is not supported");
        } else {
          call.fail(404, "No endpoint " + route + ".");
        }
      }
    }
  }

  private void setFault(Call call) throws IOException {
    Fault fault;
    try {
      fault = Fault.fromJson(JsonReader.parse(call.body()));
    } catch (IllegalArgumentException e) {
      call.fail(400, e.getMessage());
      return;
    } catch (Call.BodyTooLarge e) {
      call.fail(413, e.getMessage());
      return;
    }
    faults.set(fault);
    call.reply(200, fault.toJson());
  }

  private Map<String, Object> stats() {
    Map<String, Object> stats = new LinkedHashMap<>();
    stats.put("requests", traffic.requests());
    stats.put("tokensIssued", tokens.issuedCount());
    return stats;
  }

  private static boolean isKnownPath(String path) {
    return switch (path) {
      case "/_admin/faults",
          "/_admin/stats",
          "/_admin/stats/reset",
          "/_admin/requests",
          "/_admin/tokens/expire" -> true;
      default -> false;
    };
  }
}
