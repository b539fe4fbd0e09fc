import type { CatalogueProduct } from '../nlu.types.ts';
import type { EntitiesFile, IntentsFile } from './bot-data.types.ts';
import { compileTerm, type CompiledTerm } from './terms.ts';
import type { Message } from './text.ts';

/** What a message names, in the order it names them, and where the written-out ones are (order numbers, emails, SKUs: the language guess leaves them out). */
export interface FoundEntities {
  readonly orderIds: readonly string[];
  readonly skus: readonly string[];
  readonly emails: readonly string[];
  readonly spans: readonly (readonly [start: number, end: number])[];
}

/** Finds entities in a prepared message, given the catalogue's products now. */
export type EntityExtractor = (message: Message, products: readonly CatalogueProduct[]) => FoundEntities;

interface ProductTerm {
  readonly sku: string;
  readonly term: CompiledTerm;
}

/**
 * Order numbers by the patterns of intents.json (digits zero-padded to the configured length, a
 * longer number is no order number), emails, SKUs written out, and products by catalogue name or
 * by an alias of entities.json. Aliases count only for SKUs the catalogue lists, unless the
 * catalogue is empty (not loaded yet): then every alias does.
 */
export function createEntityExtractor(rules: IntentsFile['entities'], aliases: EntitiesFile, vocabulary: ReadonlySet<string>): EntityExtractor {
  const orderPatterns = rules.orderId.patterns.map((source) => new RegExp(source, 'giu'));
  const email = new RegExp(rules.email, 'giu');
  const sku = new RegExp(rules.sku, 'giu');
  const options = { fuzzyMinLength: aliases.fuzzyMinLength ?? 6, unalignedFactor: 1, vocabulary };
  const aliasTerms: ProductTerm[] = Object.entries(aliases.products).flatMap(([code, names]) =>
    [...(names.en ?? []), ...(names.zh ?? [])].map((name) => ({ sku: code, term: compileTerm(name, options) })),
  );
  const byCatalogue = new WeakMap<readonly CatalogueProduct[], ProductTerm[]>();
  const productTerms = (products: readonly CatalogueProduct[]): ProductTerm[] => {
    let terms = byCatalogue.get(products);
    if (!terms) {
      const listed = new Set(products.map((p) => p.sku.toUpperCase()));
      terms = [
        ...products.map((p) => ({ sku: p.sku.toUpperCase(), term: compileTerm(p.name, options) })),
        ...aliasTerms.filter((t) => listed.size === 0 || listed.has(t.sku)),
      ];
      byCatalogue.set(products, terms);
    }
    return terms;
  };

  return (message, products) => {
    const spans: [number, number][] = [];
    const found = (into: Map<string, number>, value: string, start: number, end: number, written = true) => {
      if (written) spans.push([start, end]);
      if (!into.has(value) || (into.get(value) ?? 0) > start) into.set(value, start);
    };
    const orders = new Map<string, number>();
    for (const pattern of orderPatterns) {
      for (const m of message.text.matchAll(pattern)) {
        const digits = m[1] ?? '';
        if (digits.length === 0 || digits.length > rules.orderId.digits) continue;
        found(orders, `${rules.orderId.prefix}${digits.padStart(rules.orderId.digits, '0')}`, m.index, m.index + m[0].length);
      }
    }
    const emails = new Map<string, number>();
    for (const m of message.text.matchAll(email)) found(emails, m[0].toLowerCase(), m.index, m.index + m[0].length);
    const skus = new Map<string, number>();
    for (const m of message.text.matchAll(sku)) found(skus, m[0].toUpperCase(), m.index, m.index + m[0].length);
    for (const { sku: code, term } of productTerms(products)) {
      const match = term.match(message);
      if (match) found(skus, code, match.start, match.end, false);
    }
    const ordered = (map: Map<string, number>) => [...map].sort((a, b) => a[1] - b[1]).map(([value]) => value);
    return { orderIds: ordered(orders), emails: ordered(emails), skus: ordered(skus), spans };
  };
}
