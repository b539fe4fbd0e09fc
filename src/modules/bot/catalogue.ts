import { toAppError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { startTrace } from '../../kernel/trace.ts';
import type { QueryService } from '../query/query.service.ts';
import type { CatalogueProduct, ProductCatalogue } from './nlu.types.ts';

/** How often the catalogue is read again (`OMNIGATE_BOT_CATALOGUE_REFRESH_MS`). */
export const DEFAULT_CATALOGUE_REFRESH_MS = 300_000;
/** Until the first good list, a failed read is tried again this soon (or at `refreshMs`, when that is sooner). */
export const CATALOGUE_FIRST_RETRY_MS = 5_000;
/** One read may take this long before it is abandoned (the query service's own deadline usually ends it first). */
const REFRESH_TIMEOUT_MS = 30_000;

export interface ProductCatalogueDeps {
  /** The unified query API: the catalogue is read through `product.list`, never around it. */
  readonly query: QueryService;
  readonly log: Logger;
  /** The time between two reads, in ms. */
  readonly refreshMs: number;
}

/** The catalogue the gateway keeps fresh for the built-in bot. */
export interface RefreshingCatalogue extends ProductCatalogue {
  /** Reads the list now and then every `refreshMs` (until `close`). Call once the connectors are loaded. */
  start(): void;
  /** Reads the list now: true when a live answer replaced it. A failure is logged and keeps the last good list. */
  refresh(): Promise<boolean>;
  /** Stops the schedule; a read under way is abandoned. */
  close(): void;
}

interface ProductPage {
  readonly items: readonly { readonly sku: string; readonly name: string }[];
}

/**
 * The product catalogue, read through the query service's `product.list` on a schedule. A read
 * that fails, or is answered from the stale cache, keeps the last good list (and its time); a
 * stale answer is taken only when it is newer than what the catalogue holds (a gateway that
 * starts while the orders system is down still gets the list the cluster last read).
 */
export function createProductCatalogue(deps: ProductCatalogueDeps): RefreshingCatalogue {
  const log = deps.log.child({ module: 'catalogue' });
  let products: readonly CatalogueProduct[] = [];
  let refreshedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let reads = 0;
  const stop = new AbortController();

  const adopt = (page: ProductPage, at: number): void => {
    products = Object.freeze(page.items.map(({ sku, name }) => Object.freeze({ sku, name })));
    refreshedAt = at;
  };

  async function refresh(): Promise<boolean> {
    reads += 1;
    const trace = startTrace(undefined, `catalogue-${reads}`);
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(REFRESH_TIMEOUT_MS)]);
    try {
      const result = await deps.query.call('product.list', {}, { trace, log, signal });
      const page = result.data as ProductPage;
      if (!result.staleness) {
        adopt(page, Date.now());
        log.debug({ products: products.length }, 'catalogue refreshed');
        return true;
      }
      const storedAt = Date.parse(result.staleness.storedAt);
      if (refreshedAt === undefined || storedAt > refreshedAt) adopt(page, storedAt);
      log.warn({ code: result.staleness.reason.code, ageMs: result.staleness.ageMs, products: products.length, refreshedAt }, 'catalogue refresh failed: keeping the last good list');
      return false;
    } catch (err) {
      if (closed) return false;
      const error = toAppError(err);
      log.warn({ code: error.code, err: error, products: products.length, refreshedAt }, 'catalogue refresh failed: keeping the last good list');
      return false;
    }
  }

  const schedule = (): void => {
    if (closed) return;
    const delay = refreshedAt === undefined ? Math.min(deps.refreshMs, CATALOGUE_FIRST_RETRY_MS) : deps.refreshMs;
    timer = setTimeout(() => void refresh().finally(schedule), delay);
    timer.unref();
  };

  return {
    products: () => products,
    refreshedAt: () => refreshedAt,
    refresh,
    start() {
      if (closed || timer !== undefined) return;
      timer = setTimeout(() => void refresh().finally(schedule), 0);
      timer.unref();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      stop.abort();
    },
  };
}
