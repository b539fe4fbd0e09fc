package omnigate.orders;

import java.time.LocalDateTime;
import java.util.List;

/** An order as the seed holds it: amounts in minor units, a local date-time without zone. */
record Order(
    String orderId,
    String customerNo,
    OrderStatus status,
    String currency,
    long totalAmountMinor,
    LocalDateTime createdAt,
    List<Line> lines) {

  record Line(int lineNo, String sku, String productName, int quantity, long unitPriceMinor) {}
}
