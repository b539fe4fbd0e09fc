import type { Intent } from '../nlu.types.ts';

/** Term → weight, per language (schemas/bot-intents.schema.json). */
export type WeightedTerms = Readonly<Record<string, number>>;

/** One intent's (or one FAQ entry's) evidence in config/bot/intents.json. */
export interface IntentRule {
  readonly intent: Exclude<Intent, 'none'>;
  readonly faqId?: string;
  readonly yields?: boolean;
  readonly terms?: { readonly en?: WeightedTerms; readonly zh?: WeightedTerms };
  readonly patterns?: readonly { readonly re: string; readonly weight: number }[];
  readonly entityWeights?: { readonly orderId?: number; readonly email?: number; readonly sku?: number };
}

/** config/bot/intents.json (schemas/bot-intents.schema.json). */
export interface IntentsFile {
  readonly version: string;
  readonly threshold: number;
  readonly saturation?: number;
  readonly fuzzyMinLength?: number;
  readonly unalignedFactor?: number;
  readonly faqVariantWeight?: number;
  readonly faqVariantMinSimilarity?: number;
  readonly yieldAt?: number;
  readonly stopwords?: { readonly en?: readonly string[]; readonly zh?: readonly string[] };
  readonly intents: readonly IntentRule[];
  readonly entities: {
    readonly orderId: { readonly patterns: readonly string[]; readonly digits: number; readonly prefix: string };
    readonly email: string;
    readonly sku: string;
  };
}

/** config/bot/entities.json: other names of the catalogue's products, by SKU. */
export interface EntitiesFile {
  readonly version: string;
  readonly fuzzyMinLength?: number;
  readonly products: Readonly<Record<string, { readonly en?: readonly string[]; readonly zh?: readonly string[] }>>;
}

/** Text in both languages the bot speaks. */
export interface Bilingual {
  readonly en: string;
  readonly zh: string;
}

/** One entry of config/bot/faq.json. */
export interface FaqEntry {
  readonly id: string;
  readonly variants: { readonly en: readonly string[]; readonly zh: readonly string[] };
  readonly answer: Bilingual;
}

/** config/bot/faq.json (schemas/bot-faq.schema.json). */
export interface FaqFile {
  readonly version: string;
  readonly entries: readonly FaqEntry[];
}

/** The three data files, checked. */
export interface BotData {
  readonly intents: IntentsFile;
  readonly entities: EntitiesFile;
  readonly faq: FaqFile;
}
