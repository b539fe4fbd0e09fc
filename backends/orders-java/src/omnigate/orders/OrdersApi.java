package omnigate.orders;

import java.io.IOException;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** /api/**: bearer-protected order reads, status changes, the change feed and the product catalogue, in Spring REST style. */
final class OrdersApi {
  static final int DEFAULT_PAGE_SIZE = 20;
  static final int MAX_PAGE_SIZE = 100;
  static final int DEFAULT_CHANGES_SIZE = 100;
  static final int MAX_CHANGES_SIZE = 500;
  private static final Map<String, String> BEARER_CHALLENGE =
      Map.of("WWW-Authenticate", "Bearer error=\"invalid_token\"");

  private final Store store;
  private final Tokens tokens;
  private final OrderChanges changes;

  OrdersApi(Store store, Tokens tokens, OrderChanges changes) {
    this.store = store;
    this.tokens = tokens;
    this.changes = changes;
  }

  void handle(Call call, boolean garbage) throws IOException {
    if (!authorized(call)) return;
    String[] segments = call.path().substring(1).split("/", -1); // "api", ...
    boolean isChanges =
        segments.length == 3 && segments[1].equals("orders") && segments[2].equals("changes");
    boolean isOrder =
        segments.length == 3 && segments[1].equals("orders") && !segments[2].isEmpty() && !isChanges;
    boolean isOrderStatus =
        segments.length == 4
            && segments[1].equals("orders")
            && !segments[2].isEmpty()
            && segments[3].equals("status");
    boolean isCustomerOrders =
        segments.length == 4
            && segments[1].equals("customers")
            && !segments[2].isEmpty()
            && segments[3].equals("orders");
    boolean isProducts = segments.length == 2 && segments[1].equals("products");
    String allowed = isOrderStatus ? "POST" : "GET";
    if (!isChanges && !isOrder && !isOrderStatus && !isCustomerOrders && !isProducts) {
      call.fail(404, "No endpoint " + call.method() + " " + call.path() + ".");
    } else if (!call.method().equals(allowed)) {
      call.fail(405, "Request method '" + call.method() + "' is not supported", Map.of("Allow", allowed));
    } else if (isProducts) {
      call.reply(200, OrderJson.products(store.products(), garbage));
    } else if (isChanges) {
      listChanges(call, garbage);
    } else if (isOrder) {
      getOrder(call, segments[2], garbage);
    } else if (isOrderStatus) {
      setStatus(call, segments[2], garbage);
    } else {
      listCustomerOrders(call, segments[2], garbage);
    }
  }

  private boolean authorized(Call call) throws IOException {
    String header = call.header("Authorization");
    boolean hasBearer = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7);
    if (!hasBearer || header.substring(7).isBlank()) {
      call.fail(401, "Full authentication is required to access this resource", BEARER_CHALLENGE);
      return false;
    }
    return switch (tokens.check(header.substring(7).trim())) {
      case VALID -> true;
      case EXPIRED -> deny(call, "Bearer token has expired");
      case UNKNOWN -> deny(call, "Bearer token is not valid");
    };
  }

  private static boolean deny(Call call, String message) throws IOException {
    call.fail(401, message, BEARER_CHALLENGE);
    return false;
  }

  private void getOrder(Call call, String orderId, boolean garbage) throws IOException {
    Optional<Order> order = store.order(orderId);
    if (order.isEmpty()) {
      call.fail(404, "Order " + orderId + " not found");
    } else {
      call.reply(200, OrderJson.order(order.get(), garbage));
    }
  }

  private void listCustomerOrders(Call call, String customerNo, boolean garbage) throws IOException {
    Map<String, List<String>> query = call.query();
    Integer page = intParam(query, "page", 0);
    Integer size = intParam(query, "size", DEFAULT_PAGE_SIZE);
    Set<OrderStatus> statuses = statuses(query.getOrDefault("status", List.of()));
    if (page == null || page < 0) {
      call.fail(400, "page must be an integer >= 0");
    } else if (size == null || size < 1 || size > MAX_PAGE_SIZE) {
      call.fail(400, "size must be an integer between 1 and " + MAX_PAGE_SIZE);
    } else if (statuses == null) {
      call.fail(400, "status must be a comma-separated list of " + EnumSet.allOf(OrderStatus.class));
    } else if (!store.hasCustomer(customerNo)) {
      call.fail(404, "Customer " + customerNo + " not found");
    } else {
      List<Order> all = store.ordersOf(customerNo, statuses);
      long from = (long) page * size;
      List<Order> content =
          from >= all.size()
              ? List.of()
              : all.subList((int) from, (int) Math.min(all.size(), from + size));
      call.reply(200, OrderJson.page(content, all.size(), page, size, garbage));
    }
  }

  /**
   * POST /api/orders/{orderId}/status {"status": "PAID"}. The body is read first (as Spring binds
   * it before the controller runs), so a bad body is a 400 even for an unknown order.
   */
  private void setStatus(Call call, String orderId, boolean garbage) throws IOException {
    String raw;
    try {
      raw = call.body();
    } catch (Call.BodyTooLarge e) {
      call.fail(413, e.getMessage());
      return;
    }
    if (raw.isBlank()) {
      call.fail(400, "Required request body is missing");
      return;
    }
    Object body;
    try {
      body = JsonReader.parse(raw);
    } catch (IllegalArgumentException e) {
      call.fail(400, "JSON parse error: " + e.getMessage());
      return;
    }
    if (!(body instanceof Map<?, ?> map) || !(map.get("status") instanceof String name)) {
      call.fail(400, "Request body must be a JSON object with a string field \"status\"");
      return;
    }
    OrderStatus status;
    try {
      status = OrderStatus.valueOf(name);
    } catch (IllegalArgumentException e) {
      call.fail(
          400,
          "JSON parse error: Cannot deserialize value of type `OrderStatus` from String \""
              + name
              + "\": not one of the values accepted for Enum class: "
              + Arrays.toString(OrderStatus.values()));
      return;
    }
    Optional<OrderChanges.Result> result = changes.change(orderId, status);
    if (result.isEmpty()) {
      call.fail(404, "Order " + orderId + " not found");
    } else {
      call.reply(200, OrderJson.order(result.get().order(), garbage));
    }
  }

  /** GET /api/orders/changes?after=0&size=100: the change feed, oldest first. */
  private void listChanges(Call call, boolean garbage) throws IOException {
    Map<String, List<String>> query = call.query();
    Long after = longParam(query, "after", 0);
    Integer size = intParam(query, "size", DEFAULT_CHANGES_SIZE);
    if (after == null || after < 0) {
      call.fail(400, "after must be an integer >= 0");
    } else if (size == null || size < 1 || size > MAX_CHANGES_SIZE) {
      call.fail(400, "size must be an integer between 1 and " + MAX_CHANGES_SIZE);
    } else {
      call.reply(200, OrderJson.changes(changes.after(after, size), garbage));
    }
  }

  /** The parameter's long value, the fallback when absent, null when malformed. */
  private static Long longParam(Map<String, List<String>> query, String name, long fallback) {
    List<String> values = query.get(name);
    if (values == null || values.isEmpty() || values.get(0).isEmpty()) return fallback;
    try {
      return Long.valueOf(values.get(0).trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** The parameter's integer value, the fallback when absent, null when malformed. */
  private static Integer intParam(Map<String, List<String>> query, String name, int fallback) {
    List<String> values = query.get(name);
    if (values == null || values.isEmpty() || values.get(0).isEmpty()) return fallback;
    try {
      return Integer.valueOf(values.get(0).trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Statuses from repeated or comma-separated values, as Spring binds a List; null if unknown. */
  private static Set<OrderStatus> statuses(List<String> values) {
    Set<OrderStatus> statuses = EnumSet.noneOf(OrderStatus.class);
    for (String value : values) {
      for (String name : value.split(",")) {
        if (name.isBlank()) continue;
        try {
          statuses.add(OrderStatus.valueOf(name.trim()));
        } catch (IllegalArgumentException e) {
          return null;
        }
      }
    }
    return statuses;
  }
}
