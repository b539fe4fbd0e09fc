import type { BusinessKey, LineageEntry, UnderstandingEntry } from './lineage.types.ts';

/** One attributed call as a trace or a record's lineage shows it, with a Jaeger link when Jaeger's UI is configured. */
export type CallView = LineageEntry & { readonly jaegerUrl?: string };

/** What the bot made of one message, with a Jaeger link when configured. */
export interface UnderstandingView {
  readonly id: string;
  readonly at: string;
  readonly actor: UnderstandingEntry['actor'];
  readonly intent: string;
  readonly confidence?: number;
  readonly entities: UnderstandingEntry['entities'];
  readonly traceId: string;
  readonly jaegerUrl?: string;
}

/** What one message caused: the bot's understanding of it, the calls made for it and the records they touched. */
export interface MessageTrace {
  /** The message's seq in the conversation; absent for calls made for the conversation but no message in particular. */
  readonly seq?: number;
  readonly understanding?: UnderstandingView;
  readonly calls: readonly CallView[];
  /** The records read or written by these calls, each once. */
  readonly keys: readonly (BusinessKey & { readonly access: 'read' | 'write' })[];
}

export const isUnderstanding = (entry: LineageEntry | UnderstandingEntry): entry is UnderstandingEntry => 'intent' in entry;

/** The link that opens a trace in Jaeger's UI. */
export const jaegerLink = (jaegerUiUrl: string | undefined, traceId: string): { jaegerUrl?: string } => (jaegerUiUrl ? { jaegerUrl: `${jaegerUiUrl}/trace/${traceId}` } : {});

/** A call as shown: the stored entry and its Jaeger link. */
export const callView = (entry: LineageEntry, jaegerUiUrl?: string): CallView => ({ ...entry, ...jaegerLink(jaegerUiUrl, entry.traceId) });

/**
 * A page of a conversation's lineage (oldest first) grouped by message, messages by seq, calls in
 * the order they ended; entries without a message last. A message whose entries straddle two
 * pages appears on both.
 */
export function messageTraces(entries: readonly (LineageEntry | UnderstandingEntry)[], jaegerUiUrl?: string): MessageTrace[] {
  const bySeq = new Map<number | undefined, { understanding?: UnderstandingView; calls: CallView[] }>();
  for (const entry of entries) {
    const group = bySeq.get(entry.messageSeq) ?? { calls: [] };
    bySeq.set(entry.messageSeq, group);
    if (isUnderstanding(entry)) {
      const { id, at, actor, intent, confidence, entities, traceId } = entry;
      group.understanding = { id, at, actor, intent, ...(confidence === undefined ? {} : { confidence }), entities, traceId, ...jaegerLink(jaegerUiUrl, traceId) };
    } else {
      group.calls.push(callView(entry, jaegerUiUrl));
    }
  }
  const order = (seq: number | undefined) => seq ?? Number.POSITIVE_INFINITY;
  return [...bySeq.entries()]
    .sort(([a], [b]) => order(a) - order(b))
    .map(([seq, group]) => ({ ...(seq === undefined ? {} : { seq }), ...(group.understanding ? { understanding: group.understanding } : {}), calls: group.calls, keys: keysOf(group.calls) }));
}

function keysOf(calls: readonly CallView[]): (BusinessKey & { access: 'read' | 'write' })[] {
  const seen = new Map<string, BusinessKey & { access: 'read' | 'write' }>();
  for (const call of calls) {
    for (const key of call.keys) {
      const id = JSON.stringify([key.system, key.type, key.id]);
      const known = seen.get(id);
      // A record both read and written is shown as written.
      if (!known || (known.access === 'read' && call.access === 'write')) seen.set(id, { ...key, access: call.access });
    }
  }
  return [...seen.values()];
}
