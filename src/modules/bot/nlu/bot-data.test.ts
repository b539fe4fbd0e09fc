import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BotDataError, loadBotData } from './bot-data.ts';

const DATA = fileURLToPath(new URL('../../../../config/bot/', import.meta.url));

function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bot-data-'));
  cpSync(DATA, dir, { recursive: true });
  return dir;
}
const edit = (dir: string, file: string, change: (doc: Record<string, unknown>) => void) => {
  const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  change(doc);
  writeFileSync(join(dir, file), JSON.stringify(doc));
};
const problemsOf = (dir: string): readonly string[] => {
  try {
    loadBotData(dir);
  } catch (err) {
    assert.ok(err instanceof BotDataError);
    return err.problems;
  }
  assert.fail('the data was accepted');
};

test('the shipped data files pass their schemas and checks, with the six FAQ ids of the contract', () => {
  const data = loadBotData(DATA);
  assert.deepEqual(data.faq.entries.map((e) => e.id).sort(), ['change_address', 'invoice', 'opening_hours', 'payment_methods', 'shipping_time', 'warranty']);
});

test('every problem of every file is listed at once, naming the file and the field', (t) => {
  const dir = copy();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  edit(dir, 'intents.json', (doc) => { doc.threshold = 2; });
  edit(dir, 'faq.json', (doc) => { (doc.entries as Record<string, unknown>[])[0]!.answer = { en: 'only English' }; });
  edit(dir, 'entities.json', (doc) => { doc.products = { 'not-a-sku': { en: ['x'] } }; });
  const problems = problemsOf(dir);
  assert.ok(problems.some((p) => p.startsWith('intents.json: threshold')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('faq.json: entries[0].answer.zh is missing')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('entities.json:')), problems.join('\n'));
});

test('what a schema cannot say: a broken regular expression, an FAQ id faq.json lacks, a repeated id, unreadable JSON', (t) => {
  const dir = copy();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  edit(dir, 'intents.json', (doc) => {
    (doc.entities as { email: string }).email = '([a-z';
    (doc.intents as Record<string, unknown>[]).push({ intent: 'faq', faqId: 'returns_policy' });
  });
  edit(dir, 'faq.json', (doc) => { (doc.entries as unknown[]).push((doc.entries as unknown[])[0]); });
  const problems = problemsOf(dir);
  assert.ok(problems.some((p) => p.includes('entities.email is not a regular expression')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('faqId returns_policy is not an entry of faq.json')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('the id shipping_time appears twice')), problems.join('\n'));
  writeFileSync(join(dir, 'entities.json'), '{ "version": ');
  assert.ok(problemsOf(dir).some((p) => p.startsWith('entities.json: ')));
});
