package omnigate.orders;

import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * In-memory orders indexed by order id and by customer (newest first), and the product catalogue. Everything is fixed at
 * load except an order's status: {@link #replace} swaps in the changed order (OrderChanges
 * serializes the writers; readers see either the old or the new order).
 */
final class Store {
  static final Comparator<Order> NEWEST_FIRST =
      Comparator.comparing(Order::createdAt).thenComparing(Order::orderId).reversed();

  private final Map<String, Customer> customers;
  private final Map<String, Order> ordersById;
  private final Map<String, List<String>> orderIdsByCustomer; // newest first
  private final List<String> orderIds; // ascending, the order churn walks them in
  private final List<Product> products; // as the seed lists them

  Store(Collection<Customer> customers, Collection<Order> orders, Collection<Product> products) {
    this.products = List.copyOf(products);
    this.customers = new HashMap<>();
    customers.forEach(c -> this.customers.put(c.customerNo(), c));
    this.ordersById = new ConcurrentHashMap<>();
    orders.forEach(o -> ordersById.put(o.orderId(), o));
    this.orderIdsByCustomer =
        orders.stream()
            .collect(
                Collectors.groupingBy(
                    Order::customerNo,
                    Collectors.collectingAndThen(
                        Collectors.toList(),
                        list -> list.stream().sorted(NEWEST_FIRST).map(Order::orderId).toList())));
    this.orderIds = ordersById.keySet().stream().sorted().toList();
  }

  Optional<Order> order(String orderId) {
    return Optional.ofNullable(ordersById.get(orderId));
  }

  boolean hasCustomer(String customerNo) {
    return customers.containsKey(customerNo);
  }

  /** The customer's orders, newest first, keeping only the given statuses (all when empty). */
  List<Order> ordersOf(String customerNo, Set<OrderStatus> statuses) {
    return orderIdsByCustomer.getOrDefault(customerNo, List.of()).stream()
        .map(ordersById::get)
        .filter(o -> statuses.isEmpty() || statuses.contains(o.status()))
        .toList();
  }

  /** The product catalogue, in the seed's order. */
  List<Product> products() {
    return products;
  }

  /** Every order id, ascending. */
  List<String> orderIds() {
    return orderIds;
  }

  /** Replaces a known order by its changed version (same id). */
  void replace(Order order) {
    if (ordersById.replace(order.orderId(), order) == null) {
      throw new IllegalArgumentException("unknown order " + order.orderId());
    }
  }

  int customerCount() {
    return customers.size();
  }

  int orderCount() {
    return ordersById.size();
  }

  int productCount() {
    return products.size();
  }
}
