package omnigate.orders;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Opaque bearer tokens with a fixed lifetime. Expired ones are kept a while to say "expired". */
final class Tokens {
  private static final Duration REMEMBER_EXPIRED = Duration.ofMinutes(10);

  enum Check {
    VALID,
    EXPIRED,
    UNKNOWN
  }

  record Issued(String value, Duration lifetime) {}

  private final Duration ttl;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Instant> expiries = new ConcurrentHashMap<>();
  private final AtomicLong issuedCount = new AtomicLong();

  Tokens(Duration ttl, Clock clock) {
    this.ttl = ttl;
    this.clock = clock;
  }

  Issued issue() {
    Instant now = clock.instant();
    expiries.values().removeIf(expiry -> expiry.plus(REMEMBER_EXPIRED).isBefore(now));
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    String value = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    expiries.put(value, now.plus(ttl));
    issuedCount.incrementAndGet();
    return new Issued(value, ttl);
  }

  Check check(String value) {
    Instant expiry = expiries.get(value);
    if (expiry == null) return Check.UNKNOWN;
    return clock.instant().isBefore(expiry) ? Check.VALID : Check.EXPIRED;
  }

  /** Expires every token issued so far, as if their lifetime had run out now. */
  int expireAll() {
    Instant now = clock.instant();
    int live = 0;
    for (Map.Entry<String, Instant> entry : expiries.entrySet()) {
      if (entry.getValue().isAfter(now)) {
        entry.setValue(now);
        live++;
      }
    }
    return live;
  }

  long issuedCount() {
    return issuedCount.get();
  }

  void resetCount() {
    issuedCount.set(0);
  }
}
