import { randomBytes } from 'node:crypto';
import type { RedisHandle } from '../../adapters/redis/redis-client.ts';
import { AppError } from '../../kernel/errors.ts';

const KEY = 'omnigate:webhooks:subscriptions';

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
  create(owner: string, fields: { url: string; secret: string; types: readonly string[] }): Promise<SubscriptionView>;
  list(owner: string): Promise<SubscriptionView[]>;
  /** False when there is no such subscription of this owner. */
  remove(owner: string, id: string): Promise<boolean>;
  get(id: string): Promise<Subscription | undefined>;
  /** Every subscription that receives events of this type. */
  matching(type: string): Promise<Subscription[]>;
}

export const viewOf = ({ id, url, types, createdAt }: Subscription): SubscriptionView => ({ id, url, types, createdAt });

/** `seen` is told every subscription secret this node handles, so that it is kept out of the logs. */
export function createSubscriptions(redis: RedisHandle, seen: (secret: string) => void = () => {}): Subscriptions {
  const { client } = redis;
  const known = <T extends Subscription>(s: T): T => (seen(s.secret), s);
  const store = async <T>(work: () => Promise<T>): Promise<T> => {
    if (!redis.isUp()) throw new AppError('STORE_UNAVAILABLE', 'webhook subscriptions live in the shared store (Redis), which is unavailable');
    try {
      return await work();
    } catch (err) {
      throw new AppError('STORE_UNAVAILABLE', 'webhook subscriptions live in the shared store (Redis), which did not answer', {}, { cause: err });
    }
  };
  const all = async (): Promise<Subscription[]> =>
    Object.values(await store(() => client.hgetall(KEY)))
      .map((raw) => known(JSON.parse(raw) as Subscription))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  return {
    async create(owner, fields) {
      seen(fields.secret);
      const subscription: Subscription = { id: `whs_${randomBytes(12).toString('hex')}`, owner, url: fields.url, secret: fields.secret, types: [...fields.types], createdAt: new Date().toISOString() };
      await store(() => client.hset(KEY, subscription.id, JSON.stringify(subscription)));
      return viewOf(subscription);
    },
    async list(owner) {
      return (await all()).filter((s) => s.owner === owner).map(viewOf);
    },
    async remove(owner, id) {
      const found = await this.get(id);
      if (!found || found.owner !== owner) return false;
      return (await store(() => client.hdel(KEY, id))) === 1;
    },
    async get(id) {
      const raw = await store(() => client.hget(KEY, id));
      return raw === null ? undefined : known(JSON.parse(raw) as Subscription);
    },
    async matching(type) {
      return (await all()).filter((s) => s.types.includes('*') || s.types.includes(type));
    },
  };
}
