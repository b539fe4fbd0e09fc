import { normalise, prepare, type Message } from './text.ts';

/** What two texts are compared on: English words (a plural `s` dropped) and pairs of neighbouring Han characters (single ones for a text too short for pairs). */
export type Features = ReadonlySet<string>;

const HAN_RUN = /\p{Script=Han}+/gu;

/** The features of a prepared message, without the stopwords (English words; Chinese words or characters, removed before pairing). */
export function featuresOf(message: Message, stopwords: { readonly en: ReadonlySet<string>; readonly zh: readonly string[] }): Features {
  const features = new Set<string>();
  for (const token of message.tokens) {
    if (token.han || stopwords.en.has(token.word)) continue;
    features.add(token.word.length > 3 && token.word.endsWith('s') ? token.word.slice(0, -1) : token.word);
  }
  let han = message.text;
  for (const word of stopwords.zh) han = han.split(word).join(' ');
  const runs = [...han.matchAll(HAN_RUN)].map(([run]) => run);
  for (const run of runs) for (let i = 0; i + 1 < run.length; i++) features.add(run.slice(i, i + 2));
  // Single characters only for a text too short for pairs: elsewhere they match too much.
  if (runs.every((run) => run.length < 2)) for (const run of runs) features.add(run);
  return features;
}

/**
 * Dice coefficient of a message's features and a variant's: 1 when equal, 0 when they share fewer
 * than two (unless the variant has only one): one shared word (`name`, `need`) says nothing.
 */
export function similarity(message: Features, variant: Features): number {
  if (message.size === 0 || variant.size === 0) return 0;
  let shared = 0;
  for (const feature of message) if (variant.has(feature)) shared++;
  if (shared < Math.min(2, variant.size)) return 0;
  return (2 * shared) / (message.size + variant.size);
}

/** The stopword lists of intents.json, ready for {@link featuresOf}. */
export function stopwordsOf(lists: { readonly en?: readonly string[]; readonly zh?: readonly string[] } | undefined) {
  return {
    en: new Set((lists?.en ?? []).map(normalise)),
    // Longest first, so a word is removed before a character inside it.
    zh: (lists?.zh ?? []).map(normalise).sort((a, b) => b.length - a.length),
  };
}

/** Features of a text not yet prepared (the FAQ variants, once per load). */
export const featuresOfText = (text: string, stopwords: Parameters<typeof featuresOf>[1]): Features => featuresOf(prepare(text), stopwords);
