package omnigate.orders;

import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Orders, Spring pages and products as JSON; "garbage" gives the wrong-typed fields the fault calls for. */
final class OrderJson {
  // always with seconds: LocalDateTime.toString() would drop ":00"
  private static final DateTimeFormatter LOCAL_DATE_TIME =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss");

  private OrderJson() {}

  static Map<String, Object> order(Order order, boolean garbage) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("orderId", order.orderId());
    json.put("customerNo", order.customerNo());
    json.put("status", order.status().name());
    json.put("currency", order.currency());
    json.put("totalAmountMinor", garbage ? "lots" : order.totalAmountMinor());
    json.put("createdAt", garbage ? "yesterday" : order.createdAt().format(LOCAL_DATE_TIME));
    json.put("lines", order.lines().stream().map(OrderJson::line).toList());
    return json;
  }

  /** Spring Data's Page: {"content","totalElements","totalPages","number","size","first","last"}. */
  static Map<String, Object> page(
      List<Order> content, int totalElements, int number, int size, boolean garbage) {
    int totalPages = (totalElements + size - 1) / size;
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("content", content.stream().map(o -> order(o, garbage)).toList());
    json.put("totalElements", totalElements);
    json.put("totalPages", totalPages);
    json.put("number", number);
    json.put("size", size);
    json.put("first", number == 0);
    json.put("last", number >= totalPages - 1);
    return json;
  }

  /**
   * The change feed: {"epoch","changes":[{"seq","orderId","customerNo","from","to","changedAt"}],
   * "lastSeq"}. Garbage: "seq" and "lastSeq" become "lots", "changedAt" becomes "yesterday".
   */
  static Map<String, Object> changes(OrderChanges.Page page, boolean garbage) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("epoch", page.epoch());
    json.put("changes", page.changes().stream().map(c -> change(c, garbage)).toList());
    json.put("lastSeq", garbage ? "lots" : page.lastSeq());
    return json;
  }

  private static Map<String, Object> change(OrderChanges.Change change, boolean garbage) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("seq", garbage ? "lots" : change.seq());
    json.put("orderId", change.orderId());
    json.put("customerNo", change.customerNo());
    json.put("from", change.from().name());
    json.put("to", change.to().name());
    json.put("changedAt", garbage ? "yesterday" : change.changedAt().format(LOCAL_DATE_TIME));
    return json;
  }

  /** The catalogue: [{"sku","name","unitPriceMinor","currency"}]; garbage: "unitPriceMinor":"lots". */
  static List<Map<String, Object>> products(List<Product> products, boolean garbage) {
    return products.stream().map(p -> product(p, garbage)).toList();
  }

  private static Map<String, Object> product(Product product, boolean garbage) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("sku", product.sku());
    json.put("name", product.name());
    json.put("unitPriceMinor", garbage ? "lots" : product.unitPriceMinor());
    json.put("currency", product.currency());
    return json;
  }

  private static Map<String, Object> line(Order.Line line) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("lineNo", line.lineNo());
    json.put("sku", line.sku());
    json.put("productName", line.productName());
    json.put("quantity", line.quantity());
    json.put("unitPriceMinor", line.unitPriceMinor());
    return json;
  }
}
