package omnigate.orders;

import java.io.PrintStream;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the backend has seen: the request counter behind /_admin/stats, the last requests behind
 * /_admin/requests, and one JSON line per request on stdout.
 */
final class Traffic {
  static final int KEPT_REQUESTS = 100;

  private final PrintStream out;
  private final Clock clock;
  private final AtomicLong requests = new AtomicLong();
  private final Deque<Map<String, Object>> recent = new ArrayDeque<>(); // guarded by itself

  Traffic(PrintStream out, Clock clock) {
    this.out = out;
    this.clock = clock;
  }

  /** Counts a non-admin, non-health request as it arrives, before any fault can drop it. */
  void counted() {
    requests.incrementAndGet();
  }

  long requests() {
    return requests.get();
  }

  void resetCount() {
    requests.set(0);
  }

  /**
   * Logs the call once it is answered, dropped or held. The status is null when no reply was
   * sent; fault names the fault that shaped the reply, if any, and appears in the log line only.
   */
  void finished(Call call, boolean remembered, String fault) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("ts", clock.instant().toString());
    line.put("method", call.method());
    line.put("path", call.path());
    line.put("status", call.status());
    line.put("traceparent", call.traceparent());
    if (fault != null) line.put("fault", fault);
    out.println(Json.write(line));
    if (remembered) remember(call);
  }

  List<Map<String, Object>> recent() {
    synchronized (recent) {
      return new ArrayList<>(recent);
    }
  }

  private void remember(Call call) {
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("method", call.method());
    entry.put("path", call.path());
    entry.put("status", call.status());
    entry.put("traceparent", call.traceparent());
    synchronized (recent) {
      recent.addLast(entry);
      while (recent.size() > KEPT_REQUESTS) recent.removeFirst();
    }
  }
}
