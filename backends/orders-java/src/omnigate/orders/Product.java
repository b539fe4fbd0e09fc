package omnigate.orders;

/** A product of the catalogue: its price in minor units of its currency. */
record Product(String sku, String name, long unitPriceMinor, String currency) {}
