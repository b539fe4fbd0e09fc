/**
 * How a write on a client's behalf is made safe to repeat. `token` goes to the backend with the
 * write when its capability takes one (the connector declares an `idempotencyKey` param): a
 * repeat with it returns what the first write made. `starting` runs just before the write is
 * sent, told whether the token is taken; it records that the write started, and may refuse
 * (throw), in which case nothing is sent.
 */
export interface WriteGuard {
  readonly token: string;
  starting(isRepeatSafe: boolean): Promise<void>;
}
