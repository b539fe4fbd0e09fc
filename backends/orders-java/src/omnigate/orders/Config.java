package omnigate.orders;

import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Settings read once from the environment at start; every problem is reported together. */
record Config(
    int port, Path seedDir, String clientId, String clientSecret, Duration tokenTtl, ZoneId zone) {
  static final int DEFAULT_PORT = 8081;
  static final String DEFAULT_SEED_DIR = ".data/seed";
  static final String DEFAULT_CLIENT_ID = "omnigate";
  static final String DEFAULT_CLIENT_SECRET = "orders-dev-secret";
  static final long DEFAULT_TOKEN_TTL_SECONDS = 300;
  /** The zone its local date-times are in (the gateway's connector assumes the same default). */
  static final String DEFAULT_TIME_ZONE = "Europe/Berlin";

  static Config fromEnv(Map<String, String> env) {
    List<String> problems = new ArrayList<>();
    long port = number(env, "ORDERS_PORT", DEFAULT_PORT, 1, 65_535, problems);
    long ttl = number(env, "ORDERS_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS, 1, 86_400, problems);
    String clientId = env.getOrDefault("ORDERS_CLIENT_ID", DEFAULT_CLIENT_ID);
    String clientSecret = env.getOrDefault("ORDERS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
    if (clientId.isEmpty()) problems.add("ORDERS_CLIENT_ID must not be empty");
    if (clientSecret.isEmpty()) problems.add("ORDERS_CLIENT_SECRET must not be empty");
    String zoneName = env.getOrDefault("ORDERS_TIME_ZONE", DEFAULT_TIME_ZONE);
    ZoneId zone = null;
    try {
      zone = ZoneId.of(zoneName.isBlank() ? DEFAULT_TIME_ZONE : zoneName.trim());
    } catch (DateTimeException e) {
      problems.add("ORDERS_TIME_ZONE must be a zone id like Europe/Berlin, got '" + zoneName + "'");
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid configuration: " + String.join("; ", problems));
    }
    Path seedDir =
        Path.of(env.getOrDefault("OMNIGATE_SEED_DIR", DEFAULT_SEED_DIR)).toAbsolutePath().normalize();
    return new Config((int) port, seedDir, clientId, clientSecret, Duration.ofSeconds(ttl), zone);
  }

  private static long number(
      Map<String, String> env, String name, long fallback, long min, long max, List<String> problems) {
    String raw = env.get(name);
    if (raw == null || raw.isBlank()) return fallback;
    try {
      long value = Long.parseLong(raw.trim());
      if (value >= min && value <= max) return value;
    } catch (NumberFormatException ignored) {
      // reported below together with out-of-range values
    }
    problems.add(name + " must be an integer in " + min + ".." + max + ", got '" + raw + "'");
    return fallback;
  }
}
