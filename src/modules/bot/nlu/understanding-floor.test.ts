import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CatalogueProduct, Intent } from '../nlu.types.ts';
import { loadBotData } from './bot-data.ts';
import { evaluate, readLabelledSet, type SetReport } from './labelled-set.ts';
import { createUnderstand } from './understand.ts';

// The floor under the bot's understanding: a change to config/bot/ or to the matching code that
// makes any intent's precision or recall drop below these fails the suite. The numbers and how to
// reproduce them: bench/README.md ("bot-nlu.ts"), `npm run bench:bot-nlu`.
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const understand = createUnderstand(loadBotData(`${ROOT}config/bot`));
const products = JSON.parse(readFileSync(`${ROOT}bench/data/bot/catalogue.json`, 'utf8')) as CatalogueProduct[];
const run = (file: string): SetReport => evaluate(understand, readLabelledSet(`${ROOT}bench/data/bot/${file}`), products);

type Floors = Record<Intent, readonly [precision: number, recall: number]>;

// Dev set (tuned against; it measures 1.0 everywhere): 0.9 leaves room for a deliberate trade of a
// few utterances, not for a regression of a whole kind of question.
const DEV: Floors = {
  order_status: [0.9, 0.9], return: [0.9, 0.9], complaint: [0.9, 0.9], faq: [0.9, 0.9],
  handoff: [0.9, 0.9], greeting: [0.9, 0.9], thanks: [0.9, 0.9], none: [0.9, 0.9],
};

// Held-out set (never tuned against, texts never read by whoever tunes): about one utterance's
// worth under what it measured when the floors were set (2026-12-02, see bench/README.md), and not
// under 0.7 — except complaint recall (measured 0.69: 4 of 13 complaints are read as none) and
// none precision (0.69, the same utterances seen from the other side), which already measured
// under 0.7: their floors are one utterance under the measurement, so they cannot get worse
// unnoticed. Raising them means better intents, never edits of the held-out file.
const HELD_OUT: Floors = {
  order_status: [0.8, 0.8], return: [0.85, 0.85], complaint: [0.85, 0.6], faq: [0.9, 0.9],
  handoff: [0.8, 0.8], greeting: [0.8, 0.8], thanks: [0.8, 0.8], none: [0.6, 0.85],
};

function below(report: SetReport, floors: Floors): string[] {
  return report.intents.flatMap((s) => {
    const [precision, recall] = floors[s.label as Intent];
    const out: string[] = [];
    if (s.precision < precision) out.push(`${s.label} precision ${s.precision.toFixed(3)} < ${precision} (${s.correct}/${s.predicted})`);
    if (s.recall < recall) out.push(`${s.label} recall ${s.recall.toFixed(3)} < ${recall} (${s.correct}/${s.support})`);
    return out;
  });
}

test('dev set: every intent keeps precision and recall ≥ 0.9; FAQ ids, order numbers and SKUs ≥ 0.95', () => {
  const report = run('utterances.tsv');
  assert.ok(report.rows >= 220, `the dev set has ${report.rows} utterances`);
  const misses = report.misses.map((m) => `  line ${m.line}: expected ${m.expected}, got ${m.got}: ${m.text}`).join('\n');
  assert.deepEqual(below(report, DEV), [], `under the floor; the misses:\n${misses}`);
  assert.ok(report.faqIdAccuracy >= 0.95, `FAQ id accuracy ${report.faqIdAccuracy}`);
  assert.ok(report.orderIds.accuracy >= 0.95, `order id accuracy ${report.orderIds.accuracy}`);
  assert.ok(report.skus.accuracy >= 0.95, `SKU accuracy ${report.skus.accuracy}`);
});

test('held-out set: every intent keeps its floor; FAQ ids, order numbers and SKUs ≥ 0.9 (numbers only: its texts are never shown)', () => {
  const report = run('utterances.heldout.tsv');
  assert.ok(report.rows >= 50, `the held-out set has ${report.rows} utterances`);
  assert.deepEqual(below(report, HELD_OUT), []);
  assert.ok(report.faqIdAccuracy >= 0.9, `FAQ id accuracy ${report.faqIdAccuracy}`);
  assert.ok(report.orderIds.accuracy >= 0.9, `order id accuracy ${report.orderIds.accuracy}`);
  assert.ok(report.skus.accuracy >= 0.9, `SKU accuracy ${report.skus.accuracy}`);
});
