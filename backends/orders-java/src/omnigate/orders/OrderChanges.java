package omnigate.orders;

import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Status changes and the change log behind GET /api/orders/changes. Each change gets the next
 * {@code seq} (1, 2, ... from process start) and is kept in memory for the life of the process.
 * A restart starts again at 1 under a new {@code epoch}, a random id per process start, so a
 * consumer that stored (epoch, seq) can tell its cursor no longer means anything.
 */
final class OrderChanges {
  static final int MAX_CHURN = 10_000;
  /** Churn picks its new statuses from a fixed seed: a fresh process makes the same changes. */
  static final long CHURN_SEED = 20_261_127L;

  record Change(
      long seq, String orderId, String customerNo, OrderStatus from, OrderStatus to, LocalDateTime changedAt) {}

  /** The order after the request, and the change it made (null when it already had that status). */
  record Result(Order order, Change change) {}

  record Page(String epoch, List<Change> changes, long lastSeq) {}

  record Churned(String epoch, int changed, long firstSeq, long lastSeq) {}

  private final String epoch = UUID.randomUUID().toString();
  private final Store store;
  private final Clock clock;
  private final ZoneId zone;
  private final List<Change> log = new ArrayList<>(); // log.get(i).seq() == i + 1; guarded by this
  private final Random random = new Random(CHURN_SEED); // guarded by this
  private int churnCursor; // guarded by this
  private final AtomicLong changeCount = new AtomicLong(); // for /_admin/stats, resettable

  OrderChanges(Store store, Clock clock, ZoneId zone) {
    this.store = store;
    this.clock = clock;
    this.zone = zone;
  }

  String epoch() {
    return epoch;
  }

  /** Sets the order's status; empty for an unknown order. The same status again changes nothing. */
  synchronized Optional<Result> change(String orderId, OrderStatus to) {
    return store.order(orderId).map(order -> apply(order, to));
  }

  /** Up to {@code size} changes with seq > after, oldest first, with the highest seq so far. */
  synchronized Page after(long after, int size) {
    int from = (int) Math.min(Math.max(after, 0), log.size());
    int to = Math.min(log.size(), from + size);
    return new Page(epoch, List.copyOf(log.subList(from, to)), log.size());
  }

  /**
   * Makes {@code count} status changes: orders are taken round-robin in id order (the walk goes
   * on where the last churn stopped), each moved to a pseudo-random other status.
   */
  synchronized Churned churn(int count) {
    List<String> ids = store.orderIds();
    OrderStatus[] statuses = OrderStatus.values();
    long first = log.size() + 1L;
    for (int i = 0; i < count; i++) {
      String orderId = ids.get(churnCursor);
      churnCursor = (churnCursor + 1) % ids.size();
      Order order = store.order(orderId).orElseThrow();
      // any status but the current one, uniformly
      int pick = random.nextInt(statuses.length - 1);
      if (pick >= order.status().ordinal()) pick++;
      apply(order, statuses[pick]);
    }
    return new Churned(epoch, count, count == 0 ? 0 : first, log.size());
  }

  long changeCount() {
    return changeCount.get();
  }

  void resetCount() {
    changeCount.set(0);
  }

  // callers hold the lock
  private Result apply(Order order, OrderStatus to) {
    if (order.status() == to) return new Result(order, null);
    Order changed = order.withStatus(to);
    store.replace(changed);
    LocalDateTime now = LocalDateTime.ofInstant(clock.instant(), zone).truncatedTo(ChronoUnit.SECONDS);
    Change change =
        new Change(log.size() + 1L, order.orderId(), order.customerNo(), order.status(), to, now);
    log.add(change);
    changeCount.incrementAndGet();
    return new Result(changed, change);
  }
}
