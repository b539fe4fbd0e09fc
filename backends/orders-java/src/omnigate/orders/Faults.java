package omnigate.orders;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fault in force, plus the calls held open by "hang". The JDK server stops reading a socket
 * while its exchange is open, so a client leaving is never noticed; held calls are therefore
 * dropped when the fault moves away from "hang", which is the only way they can be freed.
 */
final class Faults {
  private volatile Fault current = Fault.NONE;
  private final Set<Call> held = ConcurrentHashMap.newKeySet();

  Fault current() {
    return current;
  }

  void set(Fault fault) {
    current = fault;
    if (fault.mode() != Fault.Mode.HANG) releaseHeld();
  }

  /** Keeps the call open without replying; it uses no thread while held. */
  void hold(Call call) {
    held.add(call);
    // the fault may have changed between the caller reading it and the add above
    if (current.mode() != Fault.Mode.HANG) releaseHeld();
  }

  boolean rollsError(Fault fault) {
    return ThreadLocalRandom.current().nextDouble() < fault.errorRate();
  }

  int heldCount() {
    return held.size();
  }

  private void releaseHeld() {
    for (Call call : held) {
      if (held.remove(call)) call.drop();
    }
  }
}
