/** One word of a message, as the segmenter cut it (Latin runs further split at punctuation). */
export interface Token {
  readonly word: string;
  /** Offsets in the normalised text. */
  readonly start: number;
  readonly end: number;
  readonly han: boolean;
}

/** A message ready for matching: normalised text, its words, and where words begin and end. */
export interface Message {
  readonly text: string;
  readonly tokens: readonly Token[];
  /** Offsets where a word starts or ends: a Chinese term that lines up with them is a whole word. */
  readonly boundaries: ReadonlySet<number>;
}

const HAN = /\p{Script=Han}/u;
const HAN_ALL = /\p{Script=Han}/gu;
const LATIN_PART = /[\p{L}\p{N}]+/gu;
// Intl.Segmenter's dictionary (ICU) for Chinese; it cuts Latin and digits at word boundaries too.
const SEGMENTER = new Intl.Segmenter('zh', { granularity: 'word' });

/** Whether the text holds any Han character. */
export const hasHan = (text: string): boolean => HAN.test(text);

/**
 * Width and case folded (NFKC turns full-width `ＯＲＤ－１２３` and `：` into ASCII), apostrophes
 * dropped so `where's` reads `wheres`, runs of space made one.
 */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/['’‘`´]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Splits a normalised text into words with `Intl.Segmenter`; Latin words are cut again at punctuation (`usb-c` → `usb`, `c`). */
export function tokenise(text: string): Token[] {
  const tokens: Token[] = [];
  for (const { segment, index, isWordLike } of SEGMENTER.segment(text)) {
    if (!isWordLike) continue;
    if (HAN.test(segment)) {
      tokens.push({ word: segment, start: index, end: index + segment.length, han: true });
      continue;
    }
    for (const part of segment.matchAll(LATIN_PART)) {
      const start = index + part.index;
      tokens.push({ word: part[0], start, end: start + part[0].length, han: false });
    }
  }
  return tokens;
}

/** Normalises and segments a message once, for every matcher. */
export function prepare(raw: string): Message {
  const text = normalise(raw);
  const tokens = tokenise(text);
  const boundaries = new Set<number>();
  for (const token of tokens) {
    boundaries.add(token.start);
    boundaries.add(token.end);
  }
  return { text, tokens, boundaries };
}

/**
 * `zh` when Chinese carries the message: at least as many Han characters as Latin words (order
 * numbers, emails and SKUs already taken out by the caller), so `转人工 please` is Chinese and
 * `return the 显示器 please` English.
 */
export function languageOf(textWithoutEntities: string): 'zh' | 'en' {
  const han = textWithoutEntities.match(HAN_ALL)?.length ?? 0;
  if (han === 0) return 'en';
  const latinWords = textWithoutEntities.match(/[a-z]+/gi)?.length ?? 0;
  return han >= latinWords ? 'zh' : 'en';
}
