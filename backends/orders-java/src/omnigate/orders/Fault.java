package omnigate.orders;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** One fault setting, as posted to and served by /_admin/faults. Each POST replaces it whole. */
record Fault(Mode mode, long latencyMs, double errorRate) {
  static final long DEFAULT_LATENCY_MS = 1_000;
  static final long MAX_LATENCY_MS = 3_600_000;
  static final double DEFAULT_ERROR_RATE = 1.0;
  static final Fault NONE = new Fault(Mode.OK, DEFAULT_LATENCY_MS, DEFAULT_ERROR_RATE);

  enum Mode {
    OK,
    DOWN,
    LATENCY,
    ERROR,
    GARBAGE,
    HANG;

    String wire() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Reads {"mode", "latencyMs"?, "errorRate"?}; IllegalArgumentException says what is wrong. */
  static Fault fromJson(Object body) {
    if (!(body instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException("body must be a JSON object");
    }
    Mode mode = mode(map.get("mode"));
    long latencyMs = DEFAULT_LATENCY_MS;
    Object latency = map.get("latencyMs");
    if (latency != null) {
      if (!(latency instanceof Double d) || d != Math.rint(d) || d < 0 || d > MAX_LATENCY_MS) {
        throw new IllegalArgumentException("latencyMs must be an integer in 0.." + MAX_LATENCY_MS);
      }
      latencyMs = d.longValue();
    }
    double errorRate = DEFAULT_ERROR_RATE;
    Object rate = map.get("errorRate");
    if (rate != null) {
      if (!(rate instanceof Double d) || d < 0 || d > 1) {
        throw new IllegalArgumentException("errorRate must be a number in 0..1");
      }
      errorRate = d;
    }
    return new Fault(mode, latencyMs, errorRate);
  }

  private static Mode mode(Object raw) {
    if (raw instanceof String s) {
      for (Mode m : Mode.values()) {
        if (m.wire().equals(s)) return m;
      }
    }
    throw new IllegalArgumentException(
        "mode must be one of ok, down, latency, error, garbage, hang; got " + Json.write(raw));
  }

  Map<String, Object> toJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("mode", mode.wire());
    json.put("latencyMs", latencyMs);
    json.put("errorRate", errorRate);
    return json;
  }
}
