import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv, toIssues } from '../../../kernel/schemas.ts';
import type { BotData, EntitiesFile, FaqFile, IntentsFile } from './bot-data.types.ts';

/** The project's schemas/ folder, where the three bot-*.schema.json files are. */
export const BOT_SCHEMA_DIR = fileURLToPath(new URL('../../../../schemas/', import.meta.url));

/** The data files of the bot, by schema. */
export const BOT_DATA_FILES = { intents: 'intents.json', entities: 'entities.json', faq: 'faq.json' } as const;

/** A data folder that cannot be used: every problem found, one per line. */
export class BotDataError extends Error {
  readonly problems: readonly string[];
  constructor(dir: string, problems: readonly string[]) {
    super(`bot data in ${dir} refused:\n  ${problems.join('\n  ')}`);
    this.name = 'BotDataError';
    this.problems = problems;
  }
}

type Validators = Record<keyof typeof BOT_DATA_FILES, ValidateFunction>;
const validatorsBySchemaDir = new Map<string, Validators>();

function validators(schemaDir: string): Validators {
  const cached = validatorsBySchemaDir.get(schemaDir);
  if (cached) return cached;
  const ajv = createAjv();
  const compile = (name: string) => ajv.compile(JSON.parse(readFileSync(join(schemaDir, `bot-${name}.schema.json`), 'utf8')) as object);
  const made = { intents: compile('intents'), entities: compile('entities'), faq: compile('faq') };
  validatorsBySchemaDir.set(schemaDir, made);
  return made;
}

/**
 * Reads and checks `intents.json`, `entities.json` and `faq.json` of `dir`: each against its schema
 * (ajv), then what a schema cannot say: every regular expression compiles, every FAQ id named by
 * an intent rule is in faq.json, FAQ ids are unique. Throws a {@link BotDataError} listing every
 * problem of every file.
 */
export function loadBotData(dir: string, schemaDir: string = BOT_SCHEMA_DIR): BotData {
  const check = validators(schemaDir);
  const problems: string[] = [];
  const read = <T>(key: keyof typeof BOT_DATA_FILES): T | undefined => {
    const file = BOT_DATA_FILES[key];
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      return undefined;
    }
    const validate = check[key];
    if (validate(doc)) return doc as T;
    for (const issue of toIssues(validate.errors)) problems.push(`${file}: ${issue.message}`);
    return undefined;
  };
  const intents = read<IntentsFile>('intents');
  const entities = read<EntitiesFile>('entities');
  const faq = read<FaqFile>('faq');
  if (intents) problems.push(...regexProblems(intents));
  if (intents && faq) problems.push(...faqProblems(intents, faq));
  if (problems.length > 0 || !intents || !entities || !faq) throw new BotDataError(dir, problems);
  return { intents, entities, faq };
}

function regexProblems(intents: IntentsFile): string[] {
  const sources = [
    ...intents.entities.orderId.patterns.map((re, i) => [`entities.orderId.patterns[${i}]`, re] as const),
    ['entities.email', intents.entities.email] as const,
    ['entities.sku', intents.entities.sku] as const,
    ...intents.intents.flatMap((rule, i) => (rule.patterns ?? []).map((p, j) => [`intents[${i}].patterns[${j}].re`, p.re] as const)),
  ];
  const problems: string[] = [];
  for (const [where, source] of sources) {
    try {
      new RegExp(source, 'iu');
    } catch (err) {
      problems.push(`intents.json: ${where} is not a regular expression: ${(err as Error).message}`);
    }
  }
  return problems;
}

function faqProblems(intents: IntentsFile, faq: FaqFile): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const entry of faq.entries) {
    if (ids.has(entry.id)) problems.push(`faq.json: the id ${entry.id} appears twice`);
    ids.add(entry.id);
  }
  intents.intents.forEach((rule, i) => {
    if (rule.faqId !== undefined && !ids.has(rule.faqId)) problems.push(`intents.json: intents[${i}].faqId ${rule.faqId} is not an entry of faq.json`);
  });
  return problems;
}
