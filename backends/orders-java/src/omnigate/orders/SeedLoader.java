package omnigate.orders;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Reads the orders TSV files written by scripts/seed.mjs; any malformed row stops the start. */
final class SeedLoader {
  static final String CUSTOMERS_FILE = "orders-customers.tsv";
  static final String ORDERS_FILE = "orders.tsv";
  static final String LINES_FILE = "order-lines.tsv";
  static final String PRODUCTS_FILE = "products.tsv";

  private SeedLoader() {}

  static Store load(Path dir) throws IOException {
    List<Customer> customers = new ArrayList<>();
    for (Row row : rows(dir.resolve(CUSTOMERS_FILE), 3)) {
      customers.add(new Customer(row.cell(0), row.cell(1), row.cell(2)));
    }
    Map<String, List<Order.Line>> linesByOrder = new HashMap<>();
    for (Row row : rows(dir.resolve(LINES_FILE), 6)) {
      Order.Line line =
          new Order.Line(
              (int) row.integer(1), row.cell(2), row.cell(3), (int) row.integer(4), row.integer(5));
      linesByOrder.computeIfAbsent(row.cell(0), id -> new ArrayList<>()).add(line);
    }
    List<Order> orders = new ArrayList<>();
    for (Row row : rows(dir.resolve(ORDERS_FILE), 6)) {
      List<Order.Line> lines = linesByOrder.getOrDefault(row.cell(0), List.of());
      orders.add(
          new Order(
              row.cell(0),
              row.cell(1),
              row.status(2),
              row.cell(3),
              row.integer(5),
              row.dateTime(4),
              lines.stream().sorted(Comparator.comparingInt(Order.Line::lineNo)).toList()));
    }
    List<Product> products = new ArrayList<>();
    for (Row row : rows(dir.resolve(PRODUCTS_FILE), 4)) {
      products.add(new Product(row.cell(0), row.cell(1), row.integer(2), row.cell(3)));
    }
    return new Store(customers, orders, products);
  }

  private static List<Row> rows(Path file, int columns) throws IOException {
    List<Row> rows = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      reader.readLine(); // header
      String text;
      int lineNo = 1;
      while ((text = reader.readLine()) != null) {
        lineNo++;
        if (text.isEmpty()) continue;
        String[] cells = text.split("\t", -1);
        Row row = new Row(file, lineNo, cells);
        if (cells.length != columns) throw row.bad(columns + " columns expected, got " + cells.length);
        rows.add(row);
      }
    }
    return rows;
  }

  private record Row(Path file, int lineNo, String[] cells) {
    String cell(int i) {
      return cells[i];
    }

    long integer(int i) {
      try {
        return Long.parseLong(cells[i]);
      } catch (NumberFormatException e) {
        throw bad("column " + (i + 1) + " is not an integer: '" + cells[i] + "'");
      }
    }

    OrderStatus status(int i) {
      try {
        return OrderStatus.valueOf(cells[i]);
      } catch (IllegalArgumentException e) {
        throw bad("unknown status '" + cells[i] + "'");
      }
    }

    LocalDateTime dateTime(int i) {
      try {
        return LocalDateTime.parse(cells[i]);
      } catch (DateTimeParseException e) {
        throw bad("column " + (i + 1) + " is not a local date-time: '" + cells[i] + "'");
      }
    }

    IllegalStateException bad(String problem) {
      return new IllegalStateException(file + ":" + lineNo + ": " + problem);
    }
  }
}
