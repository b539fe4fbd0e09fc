package omnigate.orders;

/** A customer of the orders system; only its number is served, as the key of an order list. */
record Customer(String customerNo, String fullName, String email) {}
