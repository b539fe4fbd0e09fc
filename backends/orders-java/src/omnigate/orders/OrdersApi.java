package omnigate.orders;

import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** /api/**: bearer-protected order reads in Spring REST style. */
final class OrdersApi {
  static final int DEFAULT_PAGE_SIZE = 20;
  static final int MAX_PAGE_SIZE = 100;
  private static final Map<String, String> BEARER_CHALLENGE =
      Map.of("WWW-Authenticate", "Bearer error=\"invalid_token\"");

  private final Store store;
  private final Tokens tokens;

  OrdersApi(Store store, Tokens tokens) {
    this.store = store;
    this.tokens = tokens;
  }

  void handle(Call call, boolean garbage) throws IOException {
    if (!authorized(call)) return;
    String[] segments = call.path().substring(1).split("/", -1); // "api", ...
    boolean isOrder =
        segments.length == 3 && segments[1].equals("orders") && !segments[2].isEmpty();
    boolean isCustomerOrders =
        segments.length == 4
            && segments[1].equals("customers")
            && !segments[2].isEmpty()
            && segments[3].equals("orders");
    if (!isOrder && !isCustomerOrders) {
      call.fail(404, "No endpoint " + call.method() + " " + call.path() + ".");
    } else if (!call.method().equals("GET")) {
      call.fail(405, "Request method '" + call.method() + "' is not supported", Map.of("Allow", "GET"));
    } else if (isOrder) {
      getOrder(call, segments[2], garbage);
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
