package omnigate.orders;

/** The orders system's own status vocabulary; the gateway maps it to canonical statuses. */
enum OrderStatus {
  NEW,
  PAYMENT_PENDING,
  PAID,
  IN_DELIVERY,
  DELIVERED,
  CANCELLED,
  RETURNED
}
