package omnigate.orders;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** /_admin/*: fault injection, stats, the request log, token expiry and churn. No auth, never faulted. */
final class AdminRoutes {
  private final Faults faults;
  private final Traffic traffic;
  private final Tokens tokens;
  private final OrderChanges changes;

  AdminRoutes(Faults faults, Traffic traffic, Tokens tokens, OrderChanges changes) {
    this.faults = faults;
    this.traffic = traffic;
    this.tokens = tokens;
    this.changes = changes;
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
        changes.resetCount();
        call.reply(200, stats());
      }
      case "GET /_admin/requests" -> call.reply(200, traffic.recent());
      case "POST /_admin/tokens/expire" -> call.reply(200, Map.of("expired", tokens.expireAll()));
      case "POST /_admin/orders/churn" -> churn(call);
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

  /** {"count": n} (1..MAX_CHURN, default 1) → {"epoch","changed","firstSeq","lastSeq"}. */
  private void churn(Call call) throws IOException {
    int count;
    try {
      String raw = call.body();
      Object body = raw.isBlank() ? Map.of() : JsonReader.parse(raw);
      if (!(body instanceof Map<?, ?> map)) throw new IllegalArgumentException("body must be a JSON object");
      Object n = map.get("count");
      if (n == null) {
        count = 1;
      } else if (n instanceof Double d && d == Math.rint(d) && d >= 1 && d <= OrderChanges.MAX_CHURN) {
        count = d.intValue();
      } else {
        throw new IllegalArgumentException("count must be an integer in 1.." + OrderChanges.MAX_CHURN);
      }
    } catch (IllegalArgumentException e) {
      call.fail(400, e.getMessage());
      return;
    } catch (Call.BodyTooLarge e) {
      call.fail(413, e.getMessage());
      return;
    }
    OrderChanges.Churned churned = changes.churn(count);
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("epoch", churned.epoch());
    reply.put("changed", churned.changed());
    reply.put("firstSeq", churned.firstSeq());
    reply.put("lastSeq", churned.lastSeq());
    call.reply(200, reply);
  }

  private Map<String, Object> stats() {
    Map<String, Object> stats = new LinkedHashMap<>();
    stats.put("requests", traffic.requests());
    stats.put("tokensIssued", tokens.issuedCount());
    stats.put("statusChanges", changes.changeCount());
    return stats;
  }

  private static boolean isKnownPath(String path) {
    return switch (path) {
      case "/_admin/faults",
          "/_admin/stats",
          "/_admin/stats/reset",
          "/_admin/requests",
          "/_admin/tokens/expire",
          "/_admin/orders/churn" -> true;
      default -> false;
    };
  }
}
