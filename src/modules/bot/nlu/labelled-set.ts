import { readFileSync } from 'node:fs';
import type { CatalogueProduct, Intent, Understand } from '../nlu.types.ts';

/** One labelled utterance (bench/data/bot/*.tsv: `lang intent faq_id order_id sku text`). */
export interface LabelledUtterance {
  readonly line: number;
  readonly lang: 'en' | 'zh' | 'mixed';
  readonly intent: Intent;
  readonly faqId?: string;
  readonly orderId?: string;
  readonly sku?: string;
  readonly text: string;
}

/** Precision and recall of one label (an intent, or one FAQ id). */
export interface LabelScore {
  readonly label: string;
  /** How many utterances carry the label. */
  readonly support: number;
  /** How many were read as it. */
  readonly predicted: number;
  readonly correct: number;
  /** correct / predicted (0 when nothing was read as it but some carry it; 1 when neither). */
  readonly precision: number;
  /** correct / support (1 when none carry it). */
  readonly recall: number;
}

/** Exact-match accuracy of one entity kind: the recognised list equals the labelled one (none when the cell is empty). */
export interface EntityScore {
  readonly rows: number;
  readonly correct: number;
  readonly accuracy: number;
  /** Of the utterances whose cell is filled. */
  readonly labelled: number;
  readonly labelledCorrect: number;
}

/** One utterance read wrongly. */
export interface Miss {
  readonly line: number;
  readonly text: string;
  readonly expected: string;
  readonly got: string;
}

/** What the understanding makes of a labelled set. */
export interface SetReport {
  readonly rows: number;
  /** Share of utterances whose intent (and FAQ id, for `faq`) is right. */
  readonly accuracy: number;
  readonly intents: readonly LabelScore[];
  readonly faqIds: readonly LabelScore[];
  /** Of the utterances labelled `faq`: the share read as `faq` with the right id. */
  readonly faqIdAccuracy: number;
  readonly orderIds: EntityScore;
  readonly skus: EntityScore;
  readonly misses: readonly Miss[];
}

const INTENTS: readonly Intent[] = ['order_status', 'return', 'complaint', 'faq', 'handoff', 'greeting', 'thanks', 'none'];
const LANGS = new Set(['en', 'zh', 'mixed']);
const HEADER = 'lang\tintent\tfaq_id\torder_id\tsku\ttext';

/** Reads a labelled set; throws on a line that does not follow the format (with its number). */
export function readLabelledSet(path: string): LabelledUtterance[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  if (lines[0]?.trim() !== HEADER) throw new Error(`${path}: the first line must be the header "${HEADER.replaceAll('\t', '⇥')}"`);
  const rows: LabelledUtterance[] = [];
  lines.slice(1).forEach((raw, i) => {
    const line = i + 2;
    if (raw.trim() === '') return;
    const cells = raw.split('\t');
    const [lang = '', intent = '', faqId = '', orderId = '', sku = '', text = ''] = cells;
    if (cells.length !== 6 || !LANGS.has(lang) || !INTENTS.includes(intent as Intent) || text.trim() === '') {
      throw new Error(`${path}:${line}: expected 6 tab-separated cells (lang en|zh|mixed, a known intent, a text)`);
    }
    rows.push({
      line, lang: lang as LabelledUtterance['lang'], intent: intent as Intent, text,
      ...(faqId ? { faqId } : {}), ...(orderId ? { orderId } : {}), ...(sku ? { sku } : {}),
    });
  });
  return rows;
}

/** Runs the understanding over a labelled set: precision and recall per intent and per FAQ id, entity accuracy, the misses. */
export function evaluate(understand: Understand, rows: readonly LabelledUtterance[], products: readonly CatalogueProduct[]): SetReport {
  const faqIds = [...new Set(rows.flatMap((r) => (r.faqId ? [r.faqId] : [])))].sort();
  const pairs: { expected: string; got: string; intent: Intent; gotIntent: Intent }[] = [];
  const misses: Miss[] = [];
  const orders = entityCounter();
  const skus = entityCounter();
  for (const row of rows) {
    const u = understand(row.text, products);
    const expected = row.intent === 'faq' ? `faq:${row.faqId ?? ''}` : row.intent;
    const got = u.intent === 'faq' ? `faq:${u.faqId ?? ''}` : u.intent;
    pairs.push({ expected, got, intent: row.intent, gotIntent: u.intent });
    if (expected !== got) misses.push({ line: row.line, text: row.text, expected, got: `${got} (${u.confidence})` });
    orders.add(row.orderId, u.entities.orderIds);
    skus.add(row.sku, u.entities.skus);
  }
  const score = (label: string, expectedOf: (p: (typeof pairs)[number]) => string, gotOf: (p: (typeof pairs)[number]) => string): LabelScore => {
    const support = pairs.filter((p) => expectedOf(p) === label).length;
    const predicted = pairs.filter((p) => gotOf(p) === label).length;
    const correct = pairs.filter((p) => expectedOf(p) === label && gotOf(p) === label).length;
    return { label, support, predicted, correct, precision: predicted === 0 ? (support === 0 ? 1 : 0) : correct / predicted, recall: support === 0 ? 1 : correct / support };
  };
  const faqRows = pairs.filter((p) => p.intent === 'faq');
  return {
    rows: rows.length,
    accuracy: pairs.filter((p) => p.expected === p.got).length / Math.max(1, pairs.length),
    intents: INTENTS.map((intent) => score(intent, (p) => p.intent, (p) => p.gotIntent)),
    faqIds: faqIds.map((id) => score(`faq:${id}`, (p) => p.expected, (p) => p.got)),
    faqIdAccuracy: faqRows.filter((p) => p.expected === p.got).length / Math.max(1, faqRows.length),
    orderIds: orders.result(),
    skus: skus.result(),
    misses,
  };
}

function entityCounter() {
  let rows = 0, correct = 0, labelled = 0, labelledCorrect = 0;
  return {
    add(label: string | undefined, found: readonly string[]) {
      const ok = label === undefined ? found.length === 0 : found.length === 1 && found[0] === label;
      rows++;
      if (ok) correct++;
      if (label !== undefined) {
        labelled++;
        if (ok) labelledCorrect++;
      }
    },
    result: (): EntityScore => ({ rows, correct, accuracy: correct / Math.max(1, rows), labelled, labelledCorrect }),
  };
}
