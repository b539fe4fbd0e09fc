import { withinOneEdit } from './fuzzy.ts';
import { hasHan, normalise, type Message, type Token } from './text.ts';

/** How loosely terms match. */
export interface TermOptions {
  /** English words at least this long also match one edit away. */
  readonly fuzzyMinLength: number;
  /** Weight factor of a Chinese term found across the segmenter's word boundaries. */
  readonly unalignedFactor: number;
  /** Words that are terms themselves: never read as a typo of another term. */
  readonly vocabulary: ReadonlySet<string>;
}

/** Where a term matched a message, and how fully (1, or less for a Chinese term across word boundaries). */
export interface TermMatch {
  readonly start: number;
  readonly end: number;
  readonly factor: number;
}

/** A term of the data files, ready to match a prepared message. */
export interface CompiledTerm {
  readonly source: string;
  match(message: Message): TermMatch | undefined;
}

const LETTERS = /^\p{L}+$/u;

/** The words of an English term (`ship*` keeps its star: a prefix). */
export const termWords = (term: string): string[] => normalise(term).split(/[^\p{L}\p{N}*]+/u).filter(Boolean);

/**
 * Compiles one term. Chinese (any Han character): found in the text, fully when it starts and ends
 * on the segmenter's word boundaries. English: its words in a row, each equal, a prefix (`ship*`),
 * or one edit away when long enough and not itself a known word.
 */
export function compileTerm(term: string, options: TermOptions): CompiledTerm {
  if (hasHan(term)) {
    const needle = normalise(term);
    return {
      source: term,
      match(message) {
        let found: TermMatch | undefined;
        for (let at = message.text.indexOf(needle); at !== -1; at = message.text.indexOf(needle, at + 1)) {
          const end = at + needle.length;
          const aligned = message.boundaries.has(at) && message.boundaries.has(end);
          if (aligned) return { start: at, end, factor: 1 };
          found ??= { start: at, end, factor: options.unalignedFactor };
        }
        return found;
      },
    };
  }
  const words = termWords(term);
  const matches = (word: string, token: Token): boolean => {
    if (token.han) return false;
    if (word.endsWith('*')) return token.word.startsWith(word.slice(0, -1));
    if (token.word === word) return true;
    return (
      word.length >= options.fuzzyMinLength &&
      token.word.length >= options.fuzzyMinLength - 1 &&
      LETTERS.test(token.word) &&
      !options.vocabulary.has(token.word) &&
      withinOneEdit(word, token.word)
    );
  };
  return {
    source: term,
    match(message) {
      const { tokens } = message;
      if (words.length === 0) return undefined;
      for (let i = 0; i + words.length <= tokens.length; i++) {
        if (words.every((word, j) => matches(word, tokens[i + j] as Token))) {
          return { start: (tokens[i] as Token).start, end: (tokens[i + words.length - 1] as Token).end, factor: 1 };
        }
      }
      return undefined;
    },
  };
}
