/**
 * The built-in bot's understanding of one message. Intents and entities come from data files
 * (config/bot/), never code; the labelled set in bench/data/bot/ measures them.
 *
 * Intents: `order_status`, `return`, `complaint`, `faq` (with `faqId`), `handoff`, `greeting`,
 * `thanks`, `none` (nothing it knows).
 */
export type Intent = 'order_status' | 'return' | 'complaint' | 'faq' | 'handoff' | 'greeting' | 'thanks' | 'none';

export interface Understanding {
  readonly intent: Intent;
  /** 0..1: how sure; below the bot's threshold it counts as not understood. */
  readonly confidence: number;
  /** For `faq`: the knowledge file's entry id (`shipping_time`). */
  readonly faqId?: string;
  /** `zh` when the message is mostly Han script, else `en`. */
  readonly language: 'zh' | 'en';
  readonly entities: {
    /** `ORD-0001234`, normalised to upper case and 7 digits. */
    readonly orderIds: readonly string[];
    /** Catalogue SKUs recognised by name or alias (`27寸显示器` → `SKU-MN-04`). */
    readonly skus: readonly string[];
    readonly emails: readonly string[];
  };
}

/** A product as the bot's dictionary knows it (the catalogue, from the orders system). */
export interface CatalogueProduct {
  readonly sku: string;
  readonly name: string;
}

/** Understands one message, given the products the catalogue knows now. Pure. */
export type Understand = (text: string, products: readonly CatalogueProduct[]) => Understanding;

/** The product catalogue, refreshed on a schedule through the query API (`product.list`); the last good list when a refresh fails. */
export interface ProductCatalogue {
  products(): readonly CatalogueProduct[];
  /** When the list was last refreshed (epoch ms), or undefined before the first success. */
  refreshedAt(): number | undefined;
}
