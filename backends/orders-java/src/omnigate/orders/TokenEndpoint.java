package omnigate.orders;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** POST /oauth/token: the OAuth2 client-credentials grant, credentials in the form or HTTP Basic. */
final class TokenEndpoint {
  private static final Map<String, String> NO_STORE = Map.of("Cache-Control", "no-store");

  private final String clientId;
  private final String clientSecret;
  private final Tokens tokens;

  TokenEndpoint(String clientId, String clientSecret, Tokens tokens) {
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.tokens = tokens;
  }

  void handle(Call call) throws IOException {
    if (!call.method().equals("POST")) {
      call.fail(
          405, "Request method '" + call.method() + "' is not supported", Map.of("Allow", "POST"));
      return;
    }
    Map<String, List<String>> form;
    try {
      form = Call.decodeForm(call.body());
    } catch (IllegalArgumentException | Call.BodyTooLarge e) {
      oauthError(call, 400, "invalid_request", NO_STORE);
      return;
    }
    String basic = call.header("Authorization");
    boolean usedBasic = basic != null && basic.regionMatches(true, 0, "Basic ", 0, 6);
    String[] credentials = usedBasic ? fromBasic(basic.substring(6).trim()) : fromForm(form);
    boolean isClient =
        credentials != null && matches(credentials[0], clientId) && matches(credentials[1], clientSecret);
    if (!isClient) {
      // RFC 6749 §5.2: a client that tried Basic gets a Basic challenge back
      Map<String, String> headers =
          usedBasic
              ? Map.of("WWW-Authenticate", "Basic realm=\"orders\"", "Cache-Control", "no-store")
              : NO_STORE;
      oauthError(call, 401, "invalid_client", headers);
      return;
    }
    String grantType = first(form, "grant_type");
    if (grantType == null) {
      oauthError(call, 400, "invalid_request", NO_STORE);
    } else if (!grantType.equals("client_credentials")) {
      oauthError(call, 400, "unsupported_grant_type", NO_STORE);
    } else {
      Tokens.Issued token = tokens.issue();
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("access_token", token.value());
      body.put("token_type", "Bearer");
      body.put("expires_in", token.lifetime().toSeconds());
      call.reply(200, body, NO_STORE);
    }
  }

  private static void oauthError(Call call, int status, String error, Map<String, String> headers)
      throws IOException {
    call.reply(status, Map.of("error", error), headers);
  }

  private static String[] fromForm(Map<String, List<String>> form) {
    String id = first(form, "client_id");
    String secret = first(form, "client_secret");
    return id == null || secret == null ? null : new String[] {id, secret};
  }

  /** RFC 6749 §2.3.1: id and secret are form-encoded before being joined and base64-encoded. */
  private static String[] fromBasic(String encoded) {
    try {
      String decoded = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      if (colon < 0) return null;
      return new String[] {
        URLDecoder.decode(decoded.substring(0, colon), StandardCharsets.UTF_8),
        URLDecoder.decode(decoded.substring(colon + 1), StandardCharsets.UTF_8)
      };
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static boolean matches(String given, String expected) {
    return MessageDigest.isEqual(
        given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
  }

  private static String first(Map<String, List<String>> form, String name) {
    List<String> values = form.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }
}
