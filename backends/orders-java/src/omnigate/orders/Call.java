package omnigate.orders;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One HTTP exchange plus what the log needs: method, path, traceparent and the status sent. */
final class Call {
  static final int MAX_BODY_BYTES = 64 * 1024;

  private final HttpExchange exchange;
  private final String method;
  private final String path;
  private final String traceparent;
  private volatile Integer status;

  Call(HttpExchange exchange) {
    this.exchange = exchange;
    this.method = exchange.getRequestMethod();
    this.path = exchange.getRequestURI().getPath();
    this.traceparent = exchange.getRequestHeaders().getFirst("traceparent");
  }

  String method() {
    return method;
  }

  String path() {
    return path;
  }

  String traceparent() {
    return traceparent;
  }

  /** The status sent, or null while no reply has been sent (or never will be). */
  Integer status() {
    return status;
  }

  String header(String name) {
    return exchange.getRequestHeaders().getFirst(name);
  }

  /** Query parameters, decoded; a name given twice keeps both values. */
  Map<String, List<String>> query() {
    return decodeForm(exchange.getRequestURI().getRawQuery());
  }

  /** The request body as UTF-8; BodyTooLarge past MAX_BODY_BYTES. */
  String body() throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
      if (bytes.length > MAX_BODY_BYTES) throw new BodyTooLarge();
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  void reply(int status, Object json) throws IOException {
    reply(status, json, Map.of());
  }

  void reply(int status, Object json, Map<String, String> headers) throws IOException {
    byte[] bytes = Json.write(json).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
    exchange.sendResponseHeaders(status, bytes.length);
    this.status = status;
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Replies with a Spring Boot style error body. */
  void fail(int status, String message) throws IOException {
    fail(status, message, Map.of());
  }

  void fail(int status, String message, Map<String, String> headers) throws IOException {
    reply(status, SpringError.body(status, message, path), headers);
  }

  /** Closes the connection without any reply; the JDK server does so when no headers were sent. */
  void drop() {
    exchange.close();
  }

  static Map<String, List<String>> decodeForm(String raw) {
    Map<String, List<String>> params = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) return params;
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) continue;
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      params.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
    }
    return params;
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  /** Thrown by body() so handlers can answer 413 in their own format. */
  static final class BodyTooLarge extends IOException {
    private static final long serialVersionUID = 1L;

    BodyTooLarge() {
      super("request body larger than " + MAX_BODY_BYTES + " bytes");
    }
  }
}
