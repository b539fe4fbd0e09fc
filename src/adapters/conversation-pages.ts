import { AppError } from '../kernel/errors.ts';

/** One member of a conversation index: the conversation and its score (epoch ms). */
export interface Ranked {
  readonly id: string;
  readonly score: number;
}

/**
 * The order of every conversation list: newest score first, then id descending by its bytes (the
 * order Redis gives members of equal score in ZREVRANGEBYSCORE), so a page boundary is exact.
 */
export const byNewest = (a: Ranked, b: Ranked): number => b.score - a.score || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id));

/** The opaque cursor after `last`. */
export const cursorAfter = (last: Ranked): string => Buffer.from(JSON.stringify([last.score, last.id])).toString('base64url');

/** The position a cursor names; VALIDATION_FAILED when it is not one of ours. */
export function parseCursor(cursor: string): Ranked {
  try {
    const [score, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof score === 'number' && Number.isFinite(score) && typeof id === 'string') return { score, id };
  } catch {
    // Falls through to the refusal below.
  }
  throw new AppError('VALIDATION_FAILED', 'the cursor is not one this list gave out');
}

/** One page of members, already in `byNewest` order and after the cursor: the first `limit`, and the cursor for more. */
export function pageOf(sorted: readonly Ranked[], limit: number): { ids: string[]; next?: string } {
  const page = sorted.slice(0, limit);
  const last = page.at(-1);
  return { ids: page.map((r) => r.id), ...(sorted.length > limit && last ? { next: cursorAfter(last) } : {}) };
}
