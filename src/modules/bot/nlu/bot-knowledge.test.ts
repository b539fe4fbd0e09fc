import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { waitFor } from '../../../../test/support/wait.ts';
import type { BuiltinBotDeps } from '../builtin-bot.types.ts';
import { BotDataError } from './bot-data.ts';
import { createBotKnowledge } from './bot-knowledge.ts';

const DATA = fileURLToPath(new URL('../../../../config/bot/', import.meta.url));
const log = pino({ level: 'silent' });

function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bot-knowledge-'));
  cpSync(DATA, dir, { recursive: true });
  return dir;
}
function editFaq(dir: string, change: (doc: { version: string; entries: { id: string; answer: { en: string; zh: string } }[] }) => void) {
  const doc = JSON.parse(readFileSync(join(dir, 'faq.json'), 'utf8')) as Parameters<typeof change>[0];
  change(doc);
  writeFileSync(join(dir, 'faq.json'), JSON.stringify(doc));
}
const warrantyEn = (k: { faq(id: string, lang: 'en' | 'zh'): string | undefined }) => k.faq('warranty', 'en');

test('answers FAQ entries by id and language; an unknown id is undefined', (t) => {
  const knowledge = createBotKnowledge({ dir: DATA, log, pollMs: 0, watch: false });
  t.after(() => knowledge.close());
  assert.match(knowledge.faq('warranty', 'en') ?? '', /warranty/);
  assert.match(knowledge.faq('warranty', 'zh') ?? '', /保修/);
  assert.equal(knowledge.faq('no_such_entry', 'en'), undefined);
  const forTheBot: BuiltinBotDeps['knowledge'] = knowledge; // what the composition root hands the built-in bot
  assert.equal(forTheBot.faqAnswer('warranty', 'zh'), knowledge.faq('warranty', 'zh'));
  assert.equal(knowledge.understand('转人工', []).intent, 'handoff');
});

test('a bad folder at start is refused with the problems', () => {
  const dir = copy();
  try {
    writeFileSync(join(dir, 'intents.json'), '[]');
    assert.throws(() => createBotKnowledge({ dir, log, pollMs: 0, watch: false }), (err) => err instanceof BotDataError && err.problems.length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a changed file is taken up through fs.watch', async (t) => {
  const dir = copy();
  const knowledge = createBotKnowledge({ dir, log, pollMs: 0, debounceMs: 10 });
  t.after(() => { knowledge.close(); rmSync(dir, { recursive: true, force: true }); });
  editFaq(dir, (doc) => { doc.version = 'watched'; doc.entries.find((e) => e.id === 'warranty')!.answer.en = 'Three years on everything.'; });
  await waitFor('the new answer', () => warrantyEn(knowledge) === 'Three years on everything.');
});

test('without fs.watch the poll takes the change up', async (t) => {
  const dir = copy();
  const knowledge = createBotKnowledge({ dir, log, pollMs: 20, watch: false });
  t.after(() => { knowledge.close(); rmSync(dir, { recursive: true, force: true }); });
  editFaq(dir, (doc) => { doc.version = 'polled'; });
  await waitFor('the polled version', () => knowledge.version().endsWith('/polled'));
});

test('a bad change is refused and the last good data keeps serving; a later good one is taken', (t) => {
  const dir = copy();
  const knowledge = createBotKnowledge({ dir, log, pollMs: 0, watch: false });
  t.after(() => { knowledge.close(); rmSync(dir, { recursive: true, force: true }); });
  const before = knowledge.version();
  const answer = warrantyEn(knowledge);
  editFaq(dir, (doc) => { doc.entries.find((e) => e.id === 'warranty')!.answer.en = ''; });
  assert.equal(knowledge.reload(), false);
  assert.equal(knowledge.version(), before);
  assert.equal(warrantyEn(knowledge), answer);
  assert.equal(knowledge.understand('转人工', []).intent, 'handoff');
  editFaq(dir, (doc) => { doc.version = 'fixed'; doc.entries.find((e) => e.id === 'warranty')!.answer.en = 'Fixed.'; });
  assert.equal(knowledge.reload(), true);
  assert.equal(warrantyEn(knowledge), 'Fixed.');
  assert.equal(knowledge.reload(), false, 'an unchanged folder is not read again');
});
