package omnigate.orders;

import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/** Read-only, in-memory orders indexed by order id and by customer (newest first). */
final class Store {
  static final Comparator<Order> NEWEST_FIRST =
      Comparator.comparing(Order::createdAt).thenComparing(Order::orderId).reversed();

  private final Map<String, Customer> customers;
  private final Map<String, Order> ordersById;
  private final Map<String, List<Order>> ordersByCustomer;

  Store(Collection<Customer> customers, Collection<Order> orders) {
    this.customers = new HashMap<>();
    customers.forEach(c -> this.customers.put(c.customerNo(), c));
    this.ordersById = new HashMap<>();
    orders.forEach(o -> ordersById.put(o.orderId(), o));
    this.ordersByCustomer =
        orders.stream()
            .collect(
                Collectors.groupingBy(
                    Order::customerNo,
                    Collectors.collectingAndThen(
                        Collectors.toList(), list -> list.stream().sorted(NEWEST_FIRST).toList())));
  }

  Optional<Order> order(String orderId) {
    return Optional.ofNullable(ordersById.get(orderId));
  }

  boolean hasCustomer(String customerNo) {
    return customers.containsKey(customerNo);
  }

  /** The customer's orders, newest first, keeping only the given statuses (all when empty). */
  List<Order> ordersOf(String customerNo, Set<OrderStatus> statuses) {
    List<Order> all = ordersByCustomer.getOrDefault(customerNo, List.of());
    if (statuses.isEmpty()) return all;
    return all.stream().filter(o -> statuses.contains(o.status())).toList();
  }

  int customerCount() {
    return customers.size();
  }

  int orderCount() {
    return ordersById.size();
  }
}
