import { randomBytes } from 'node:crypto';
import { AppError } from '../../kernel/errors.ts';
import type { RecordStore } from '../../ports/record-store.ts';

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

/** Subscriptions in the shared store (Redis), shared by every node; each belongs to the API key that made it. */
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

/** Where a subscription is listed: under its owner (the per-key cap counts them) and each of its types. */
const indexesOf = (s: Pick<Subscription, 'owner' | 'types'>): string[] => [ownerIndexKey(s.owner), ...s.types.map(typeIndexKey)];

/**
 * `maxPerKey`: subscriptions one owner may hold. Their secrets are chosen by any key holder, so
 * they are never added to the values scrubbed from every log line (a "secret" such as
 * `UPSTREAM_TIMEOUT` would blank that word everywhere); they stay out of the logs because no line
 * carries them (and `*.secret` is redacted by path).
 */
export function createSubscriptions(records: RecordStore, { maxPerKey }: { maxPerKey: number }): Subscriptions {
  let indexed: Promise<unknown> | undefined;
  const store = async <T>(work: () => Promise<T>): Promise<T> => {
    if (!records.isUp()) throw new AppError('STORE_UNAVAILABLE', 'webhook subscriptions live in the shared store (Redis), which is unavailable');
    try {
      // Subscriptions stored before the indexes existed get their index entries once.
      indexed ??= records.reindex(KEY, INDEXED_KEY, (raw) => indexesOf(JSON.parse(raw) as Subscription)).catch((err: unknown) => {
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
      : (await store(() => records.getMany(KEY, ids)))
          .map((raw) => JSON.parse(raw) as Subscription)
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  return {
    async create(owner, fields) {
      const subscription: Subscription = { id: `whs_${randomBytes(12).toString('hex')}`, owner, url: fields.url, secret: fields.secret, types: [...new Set(fields.types)], createdAt: new Date().toISOString() };
      // The cap is checked and the subscription stored with its index entries in one step, so two
      // requests at once cannot both take the last place.
      const limit = { index: ownerIndexKey(owner), max: maxPerKey };
      if (!(await store(() => records.insert(KEY, subscription.id, JSON.stringify(subscription), indexesOf(subscription), limit)))) throw new AppError('SUBSCRIPTION_LIMIT_REACHED', `this key already has ${maxPerKey} webhook subscriptions, its limit; delete one first`, { limit: maxPerKey });
      return viewOf(subscription);
    },
    async list(owner) {
      return (await load(await store(() => records.listed([ownerIndexKey(owner)])))).map(viewOf);
    },
    async remove(owner, id) {
      const found = await this.get(id);
      if (!found || found.owner !== owner) return false;
      return store(() => records.delete(KEY, id, indexesOf(found)));
    },
    async get(id) {
      const raw = await store(() => records.get(KEY, id));
      return raw === undefined ? undefined : (JSON.parse(raw) as Subscription);
    },
    async matching(type) {
      return load(await store(() => records.listed([typeIndexKey(type), typeIndexKey('*')])));
    },
  };
}
