// The built-in bot's understanding against the labelled utterances: precision and recall per
// intent and per FAQ id, FAQ id accuracy, order-number and SKU accuracy, for the dev set
// (bench/data/bot/utterances.tsv, tuned against) and the held-out set
// (bench/data/bot/utterances.heldout.tsv, never tuned against) apart. The baseline, measured in the
// same run, is the majority class (every utterance read as the dev set's most frequent intent).
// Usage: node bench/bot-nlu.ts [--data=config/bot] [--set=dev|heldout|both] [--misses] [--json=.data/bench-bot-nlu.json]
//   --misses lists the dev set's misreadings (never the held-out set's: its texts stay unread).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBotData } from '../src/modules/bot/nlu/bot-data.ts';
import { evaluate, readLabelledSet, type LabelScore, type SetReport } from '../src/modules/bot/nlu/labelled-set.ts';
import { createUnderstand } from '../src/modules/bot/nlu/understand.ts';
import type { CatalogueProduct } from '../src/modules/bot/nlu.types.ts';
import { args } from './lib/args.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = resolve(root, args.str('data', 'config/bot'));
const products = JSON.parse(readFileSync(join(root, 'bench/data/bot/catalogue.json'), 'utf8')) as CatalogueProduct[];
const understand = createUnderstand(loadBotData(dataDir));
const sets = { dev: 'bench/data/bot/utterances.tsv', heldout: 'bench/data/bot/utterances.heldout.tsv' } as const;

const pct = (n: number) => (n * 100).toFixed(1).padStart(6);
const row = (s: LabelScore) => `${s.label.padEnd(24)}${String(s.support).padStart(8)}${String(s.predicted).padStart(10)}${pct(s.precision)} %${pct(s.recall)} %`;
const head = `${'label'.padEnd(24)}${'support'.padStart(8)}${'predicted'.padStart(10)}${'precision'.padStart(10)}${'recall'.padStart(9)}`;

function print(name: string, file: string, report: SetReport, baseline: number, usPerUtterance: number): void {
  console.log(`\n== ${name}: ${file} (${report.rows} utterances) ==`);
  console.log(head);
  console.log('-'.repeat(head.length));
  for (const s of report.intents) console.log(row(s));
  console.log('-'.repeat(head.length));
  for (const s of report.faqIds) console.log(row(s));
  console.log('-'.repeat(head.length));
  console.log(`accuracy (intent + FAQ id)   ${pct(report.accuracy)} %   (majority-class baseline ${pct(baseline)} %)`);
  console.log(`FAQ id accuracy              ${pct(report.faqIdAccuracy)} %`);
  const entity = (label: string, e: SetReport['orderIds']) =>
    console.log(`${label.padEnd(29)}${pct(e.accuracy)} %   (${e.correct}/${e.rows}; of the ${e.labelled} labelled: ${e.labelledCorrect})`);
  entity('order id accuracy', report.orderIds);
  entity('SKU accuracy', report.skus);
  console.log(`time per utterance           ${usPerUtterance.toFixed(1).padStart(6)} µs`);
}

const results: Record<string, unknown> = {};
const dev = readLabelledSet(join(root, sets.dev));
const majority = [...Map.groupBy(dev, (r) => r.intent)].sort((a, b) => b[1].length - a[1].length)[0]?.[0] ?? 'none';
const only = args.str('set', 'both');
evaluate(understand, dev, products); // warm-up, so the first set's time per utterance is not the JIT's
for (const [name, file] of Object.entries(sets)) {
  if (only !== 'both' && only !== name) continue;
  const rows = name === 'dev' ? dev : readLabelledSet(join(root, file));
  const started = process.hrtime.bigint();
  const report = evaluate(understand, rows, products);
  const us = Number(process.hrtime.bigint() - started) / 1000 / Math.max(1, rows.length);
  const baseline = rows.filter((r) => r.intent === majority).length / Math.max(1, rows.length);
  print(name, file, report, baseline, us);
  if (name === 'dev' && args.bool('misses')) for (const m of report.misses) console.log(`  miss line ${m.line}: expected ${m.expected}, got ${m.got}: ${m.text}`);
  const { misses, ...numbers } = report;
  results[name] = { ...numbers, misses: misses.length, majorityBaseline: baseline, usPerUtterance: us };
}
const out = resolve(root, args.str('json', '.data/bench-bot-nlu.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ data: dataDir, ...results }, null, 2)}\n`);
console.log(`\nwrote ${out}`);
