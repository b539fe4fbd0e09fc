package omnigate.orders;

import java.time.LocalDateTime;
import java.util.List;

/** An order: amounts in minor units, a local date-time without zone. Immutable; a status change replaces it. */
record Order(
    String orderId,
    String customerNo,
    OrderStatus status,
    String currency,
    long totalAmountMinor,
    LocalDateTime createdAt,
    List<Line> lines) {

  record Line(int lineNo, String sku, String productName, int quantity, long unitPriceMinor) {}

  /** The same order in another status (the only thing that ever changes). */
  Order withStatus(OrderStatus newStatus) {
    return new Order(orderId, customerNo, newStatus, currency, totalAmountMinor, createdAt, lines);
  }
}
