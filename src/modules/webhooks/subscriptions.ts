import { randomBytes } from 'node:crypto';
import type { RedisHandle } from '../../adapters/redis/redis-client.ts';
import { AppError } from '../../kernel/errors.ts';

const KEY = 'omnigate:webhooks:subscriptions';
/** The ids of one owner's subscriptions: the per-key cap counts them. */
export const ownerIndexKey = (owner: string) => `omnigate:webhooks:owner:${owner}`;
/** The ids of the subscriptions to one event type (`*`: to every type). */
export const typeIndexKey = (type: string) => `omnigate:webhooks:type:${type}`;
/** Set once the indexes hold every subscription (those made before the indexes existed included). */
const INDEXED_KEY = 'omnigate:webhooks:indexed';

/** A webhook subscription as the API shows it: never its secret. */
export interface SubscriptionView {
  readonly id: string;
  readonly url: string;
  /** Event types it receives; `*` for all. */
  readonly types: readonly string[];
  readonly createdAt: string;
}

/** As stored: with its owner (the key that made it) and its signing secret. */
export interface Subscription extends SubscriptionView {
  readonly owner: string;
  readonly secret: string;
}

/** Subscriptions in Redis, shared by every node; each belongs to the API key that made it. */
export interface Subscriptions {
  /** Throws SUBSCRIPTION_LIMIT_REACHED when the owner already holds its limit. */
  create(owner: string, fields: { url: string; secret: string; types: readonly string[] }): Promise<SubscriptionView>;
  list(owner: string): Promise<SubscriptionView[]>;
  /** False when there is no such subscription of this owner. */
  remove(owner: string, id: string): Promise<boolean>;
  get(id: string): Promise<Subscription | undefined>;
  /** Every subscription that receives events of this type, read through the type's index (never all of them). */
  matching(type: string): Promise<Subscription[]>;
}

export const viewOf = ({ id, url, types, createdAt }: Subscription): SubscriptionView => ({ id, url, types, createdAt });

// The cap is checked and the subscription stored with its index entries in one step, so two
// requests at once cannot both take the last place.
const CREATE = `
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
for i = 3, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end
return 1`;
const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
for i = 2, #KEYS do redis.call('SREM', KEYS[i], ARGV[1]) end
return 1`;
// Subscriptions stored before the indexes existed get their index entries once.
const REINDEX = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local s = cjson.decode(all[i + 1])
  redis.call('SADD', ARGV[1] .. s.owner, s.id)
  for _, t in ipairs(s.types) do redis.call('SADD', ARGV[2] .. t, s.id) end
end
redis.call('SET', KEYS[2], '1')
return 1`;

/**
 * `maxPerKey`: subscriptions one owner may hold. Their secrets are chosen by any key holder, so
 * they are never added to the values scrubbed from every log line (a "secret" such as
 * `UPSTREAM_TIMEOUT` would blank that word everywhere); they stay out of the logs because no line
 * carries them (and `*.secret` is redacted by path).
 */
export function createSubscriptions(redis: RedisHandle, { maxPerKey }: { maxPerKey: number }): Subscriptions {
  const { client } = redis;
  let indexed: Promise<unknown> | undefined;
  const store = async <T>(work: () => Promise<T>): Promise<T> => {
    if (!redis.isUp()) throw new AppError('STORE_UNAVAILABLE', 'webhook subscriptions live in the shared store (Redis), which is unavailable');
    try {
      indexed ??= client.eval(REINDEX, 2, KEY, INDEXED_KEY, ownerIndexKey(''), typeIndexKey('')).catch((err: unknown) => {
        indexed = undefined;
        throw err;
      });
      await indexed;
      return await work();
    } catch (err) {
      throw new AppError('STORE_UNAVAILABLE', 'webhook subscriptions live in the shared store (Redis), which did not answer', {}, { cause: err });
    }
  };
  const load = async (ids: readonly string[]): Promise<Subscription[]> =>
    ids.length === 0
      ? []
      : (await store(() => client.hmget(KEY, ...ids)))
          .filter((raw): raw is string => raw !== null)
          .map((raw) => JSON.parse(raw) as Subscription)
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  return {
    async create(owner, fields) {
      const subscription: Subscription = { id: `whs_${randomBytes(12).toString('hex')}`, owner, url: fields.url, secret: fields.secret, types: [...new Set(fields.types)], createdAt: new Date().toISOString() };
      const keys = [KEY, ownerIndexKey(owner), ...subscription.types.map(typeIndexKey)];
      const created = await store(() => client.eval(CREATE, keys.length, ...keys, subscription.id, String(maxPerKey), JSON.stringify(subscription)));
      if (created !== 1) throw new AppError('SUBSCRIPTION_LIMIT_REACHED', `this key already has ${maxPerKey} webhook subscriptions, its limit; delete one first`, { limit: maxPerKey });
      return viewOf(subscription);
    },
    async list(owner) {
      return (await load(await store(() => client.smembers(ownerIndexKey(owner))))).map(viewOf);
    },
    async remove(owner, id) {
      const found = await this.get(id);
      if (!found || found.owner !== owner) return false;
      const keys = [KEY, ownerIndexKey(owner), ...found.types.map(typeIndexKey)];
      return (await store(() => client.eval(REMOVE, keys.length, ...keys, id))) === 1;
    },
    async get(id) {
      const raw = await store(() => client.hget(KEY, id));
      return raw === null ? undefined : (JSON.parse(raw) as Subscription);
    },
    async matching(type) {
      return load(await store(() => client.sunion(typeIndexKey(type), typeIndexKey('*'))));
    },
  };
}
