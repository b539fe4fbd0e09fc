import type { Intent, Understand, Understanding } from '../nlu.types.ts';
import type { BotData, IntentRule } from './bot-data.types.ts';
import { createEntityExtractor, type FoundEntities } from './entities.ts';
import { featuresOf, featuresOfText, similarity, stopwordsOf, type Features } from './faq-similarity.ts';
import { compileTerm, termWords, type CompiledTerm } from './terms.ts';
import { hasHan, languageOf, prepare, type Message } from './text.ts';

/** Defaults of the optional knobs of intents.json. */
export const NLU_DEFAULTS = { saturation: 2, fuzzyMinLength: 5, unalignedFactor: 0.8, faqVariantWeight: 3, faqVariantMinSimilarity: 0.4, yieldAt: 1.5 } as const;

/** One candidate reading (an intent, or one FAQ entry) and its score for a message. */
export interface Scored {
  readonly intent: Exclude<Intent, 'none'>;
  readonly faqId?: string;
  readonly score: number;
}

interface Candidate {
  readonly intent: Exclude<Intent, 'none'>;
  readonly faqId?: string;
  yields: boolean;
  readonly terms: { readonly term: CompiledTerm; readonly weight: number }[];
  readonly patterns: { readonly re: RegExp; readonly weight: number }[];
  readonly entityWeights: { orderId: number; email: number; sku: number };
  readonly variants: Features[];
}

/** The understanding made from one version of the data files, and its scores (for the bench and the tests). */
export interface CompiledUnderstanding {
  readonly understand: Understand;
  /** Every candidate's score for a message, best first. */
  readonly scores: (text: string, products: Parameters<Understand>[1]) => Scored[];
}

/**
 * Compiles the data files into an {@link Understand}: a message is normalised and segmented once;
 * each candidate (an intent, each FAQ entry apart) scores the weights of the terms and patterns it
 * matched, the entities present, and for an FAQ entry its similarity to the closest question
 * variant. The best wins if its confidence reaches the threshold, else the reading is `none`.
 * Raw confidence = strength × (½ + ½ margin): strength = s / (s + saturation) of the best score,
 * margin = how far ahead of the best other candidate it is (0..1); it is then calibrated so that
 * the threshold of intents.json is 0.5: any reading other than `none` has a confidence ≥ 0.5, and
 * the confidence of `none` says how sure it is that nothing was meant (1 for a message nothing matched).
 */
export function createUnderstanding(data: BotData): CompiledUnderstanding {
  const config = { ...NLU_DEFAULTS, ...data.intents };
  const vocabulary = new Set<string>();
  for (const rule of data.intents.intents) {
    for (const term of [...Object.keys(rule.terms?.en ?? {}), ...Object.keys(rule.terms?.zh ?? {})]) {
      if (!hasHan(term)) for (const word of termWords(term)) if (!word.endsWith('*')) vocabulary.add(word);
    }
  }
  for (const names of Object.values(data.entities.products)) for (const name of names.en ?? []) for (const word of termWords(name)) vocabulary.add(word);
  const termOptions = { fuzzyMinLength: config.fuzzyMinLength, unalignedFactor: config.unalignedFactor, vocabulary };
  const stopwords = stopwordsOf(data.intents.stopwords);
  const extract = createEntityExtractor(data.intents.entities, data.entities, vocabulary);

  const candidates = new Map<string, Candidate>();
  const candidate = (intent: Candidate['intent'], faqId?: string): Candidate => {
    const key = faqId === undefined ? intent : `${intent}:${faqId}`;
    let found = candidates.get(key);
    if (!found) {
      found = { intent, ...(faqId === undefined ? {} : { faqId }), yields: false, terms: [], patterns: [], entityWeights: { orderId: 0, email: 0, sku: 0 }, variants: [] };
      candidates.set(key, found);
    }
    return found;
  };
  for (const entry of data.faq.entries) {
    candidate('faq', entry.id).variants.push(...[...entry.variants.en, ...entry.variants.zh].map((v) => featuresOfText(v, stopwords)));
  }
  for (const rule of data.intents.intents) addRule(candidate(rule.intent, rule.faqId), rule, termOptions);
  const all = [...candidates.values()];

  /** The score of the terms, patterns and entities (what small talk gives way to), and with the FAQ variants. */
  const scoreOf = (c: Candidate, message: Message, entities: FoundEntities, features: Features) => {
    let said = 0;
    for (const { term, weight } of c.terms) said += weight * (term.match(message)?.factor ?? 0);
    for (const { re, weight } of c.patterns) if (re.test(message.text)) said += weight;
    if (entities.orderIds.length > 0) said += c.entityWeights.orderId;
    if (entities.emails.length > 0) said += c.entityWeights.email;
    if (entities.skus.length > 0) said += c.entityWeights.sku;
    const closest = Math.max(0, ...c.variants.map((v) => similarity(features, v)));
    return { said, total: closest >= config.faqVariantMinSimilarity ? said + config.faqVariantWeight * closest : said };
  };
  const score = (message: Message, entities: FoundEntities): Scored[] => {
    const features = featuresOf(message, stopwords);
    const totals = all.map((c) => [c, scoreOf(c, message, entities, features)] as const);
    // Small talk gives way to any topic the message names: `hi, where is my order` is about the order.
    const topic = Math.max(0, ...totals.filter(([c]) => !c.yields).map(([, s]) => s.said));
    return totals
      .map(([c, s]) => ({ intent: c.intent, ...(c.faqId === undefined ? {} : { faqId: c.faqId }), score: c.yields && topic >= config.yieldAt ? 0 : s.total }))
      .sort((a, b) => b.score - a.score);
  };

  const understand: Understand = (text, products) => {
    const message = prepare(text);
    const entities = extract(message, products);
    const language = languageOf(withoutSpans(message.text, entities.spans));
    const found = { orderIds: entities.orderIds, skus: entities.skus, emails: entities.emails };
    const [best, second] = score(message, entities);
    const raw = best && best.score > 0 ? confidenceOf(best.score, second?.score ?? 0, config.saturation) : 0;
    const confidence = calibrated(raw, config.threshold);
    if (!best || raw < config.threshold) return { intent: 'none', confidence: round(1 - confidence), language, entities: found };
    return { intent: best.intent, confidence: round(confidence), ...(best.faqId === undefined ? {} : { faqId: best.faqId }), language, entities: found } satisfies Understanding;
  };

  return {
    understand,
    scores: (text, products) => {
      const message = prepare(text);
      return score(message, extract(message, products));
    },
  };
}

/** The understanding of one version of the data files (see {@link createUnderstanding}). */
export const createUnderstand = (data: BotData): Understand => createUnderstanding(data).understand;

function addRule(into: Candidate, rule: IntentRule, options: Parameters<typeof compileTerm>[1]): void {
  for (const [term, weight] of [...Object.entries(rule.terms?.en ?? {}), ...Object.entries(rule.terms?.zh ?? {})]) into.terms.push({ term: compileTerm(term, options), weight });
  for (const { re, weight } of rule.patterns ?? []) into.patterns.push({ re: new RegExp(re, 'iu'), weight });
  if (rule.yields) into.yields = true;
  into.entityWeights.orderId += rule.entityWeights?.orderId ?? 0;
  into.entityWeights.email += rule.entityWeights?.email ?? 0;
  into.entityWeights.sku += rule.entityWeights?.sku ?? 0;
}

function confidenceOf(best: number, second: number, saturation: number): number {
  const strength = best / (best + saturation);
  const margin = Math.min(1, Math.max(0, (best - Math.max(0, second)) / best));
  return strength * (0.5 + 0.5 * margin);
}

/**
 * The data's threshold made 0.5, linearly on each side: a reading other than `none` always has a
 * confidence of at least 0.5, and `none` is as sure as the best reading was short of the threshold.
 */
function calibrated(raw: number, threshold: number): number {
  if (threshold <= 0) return 0.5 + 0.5 * raw;
  if (threshold >= 1) return 0.5 * raw;
  return raw >= threshold ? 0.5 + (0.5 * (raw - threshold)) / (1 - threshold) : (0.5 * raw) / threshold;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function withoutSpans(text: string, spans: FoundEntities['spans']): string {
  const chars = [...text.split('')];
  for (const [start, end] of spans) for (let i = start; i < end; i++) chars[i] = ' ';
  return chars.join('');
}
