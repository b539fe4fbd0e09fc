import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../kernel/logger.ts';
import type { Understand } from '../nlu.types.ts';
import { BOT_DATA_FILES, BOT_SCHEMA_DIR, BotDataError, loadBotData } from './bot-data.ts';
import type { BotData } from './bot-data.types.ts';
import { createUnderstanding, type CompiledUnderstanding } from './understand.ts';

/** How often the data folder is checked when no change event came (fs.watch misses some: network mounts, some editors). */
export const DEFAULT_BOT_DATA_POLL_MS = 5_000;
/** Wait after a change event before reading, so a save in several writes is read once. */
export const DEFAULT_BOT_DATA_DEBOUNCE_MS = 100;

/** What {@link createBotKnowledge} needs. */
export interface BotKnowledgeDeps {
  /** The folder of intents.json, entities.json and faq.json (`OMNIGATE_BOT_DATA_DIR`, default `config/bot`). */
  readonly dir: string;
  readonly log: Logger;
  /** Poll interval in ms (default {@link DEFAULT_BOT_DATA_POLL_MS}); 0 turns polling off. */
  readonly pollMs?: number;
  /** Debounce of change events in ms (default {@link DEFAULT_BOT_DATA_DEBOUNCE_MS}). */
  readonly debounceMs?: number;
  /** Whether to use fs.watch as well as polling (default true). */
  readonly watch?: boolean;
  /** Where the bot-*.schema.json files are (default the project's schemas/). */
  readonly schemaDir?: string;
}

/** The bot's understanding and knowledge, from the data files, reloaded when they change. */
export interface BotKnowledge {
  /** Understands a message with the data in force now (pure for a given data version). */
  readonly understand: Understand;
  /** The answer of an FAQ entry in a language, or undefined for an id the knowledge file lacks. */
  faq(id: string, lang: 'en' | 'zh'): string | undefined;
  /** The same as {@link BotKnowledge.faq}, under the name bot-core's `BuiltinBotDeps.knowledge` asks for. */
  faqAnswer(id: string, lang: 'en' | 'zh'): string | undefined;
  /** The FAQ ids known now. */
  faqIds(): readonly string[];
  /** The `version` fields of intents.json, entities.json and faq.json in force, joined by `/`. */
  version(): string;
  /** Reads the folder now; true when new data was taken, false when unchanged or refused (the last good stays). */
  reload(): boolean;
  /** Stops watching and polling. */
  close(): void;
}

interface Loaded {
  readonly data: BotData;
  readonly understanding: CompiledUnderstanding;
  readonly answers: ReadonlyMap<string, BotData['faq']['entries'][number]['answer']>;
}

/**
 * Loads the bot's data folder (a bad folder at start throws a {@link BotDataError}: the gateway
 * must not start with a bot that understands nothing), then watches it (fs.watch, debounced) and
 * polls it (a content hash, so an unchanged folder is not re-read into new matchers). A changed
 * folder that fails its schemas or checks is refused with one error log listing every problem,
 * and the last good data keeps serving.
 */
export function createBotKnowledge(deps: BotKnowledgeDeps): BotKnowledge {
  const log = deps.log.child({ module: 'bot-nlu' });
  const schemaDir = deps.schemaDir ?? BOT_SCHEMA_DIR;
  let seen = fingerprint(deps.dir);
  let current = compile(loadBotData(deps.dir, schemaDir));
  log.info({ dir: deps.dir, version: versionOf(current.data) }, 'bot data loaded');

  function reload(): boolean {
    const now = fingerprint(deps.dir);
    if (now === seen) return false;
    seen = now;
    try {
      current = compile(loadBotData(deps.dir, schemaDir));
    } catch (err) {
      const problems = err instanceof BotDataError ? err.problems : [(err as Error).message];
      log.error({ dir: deps.dir, problems, version: versionOf(current.data) }, 'bot data refused: the last good data stays in force');
      return false;
    }
    log.info({ dir: deps.dir, version: versionOf(current.data) }, 'bot data reloaded');
    return true;
  }

  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  if (deps.watch ?? true) {
    try {
      watcher = watch(deps.dir, () => {
        clearTimeout(debounce);
        debounce = setTimeout(reload, deps.debounceMs ?? DEFAULT_BOT_DATA_DEBOUNCE_MS);
      });
      watcher.on('error', (err) => log.warn({ err, dir: deps.dir }, 'watching the bot data failed: polling only'));
    } catch (err) {
      log.warn({ err, dir: deps.dir }, 'cannot watch the bot data: polling only');
    }
  }
  const pollMs = deps.pollMs ?? DEFAULT_BOT_DATA_POLL_MS;
  const poll = pollMs > 0 ? setInterval(reload, pollMs) : undefined;
  poll?.unref();

  return {
    understand: (text, products) => current.understanding.understand(text, products),
    faq: (id, lang) => current.answers.get(id)?.[lang],
    faqAnswer: (id, lang) => current.answers.get(id)?.[lang],
    faqIds: () => [...current.answers.keys()],
    version: () => versionOf(current.data),
    reload,
    close() {
      watcher?.close();
      clearTimeout(debounce);
      clearInterval(poll);
    },
  };
}

function compile(data: BotData): Loaded {
  return { data, understanding: createUnderstanding(data), answers: new Map(data.faq.entries.map((e) => [e.id, e.answer])) };
}

const versionOf = (data: BotData) => `${data.intents.version}/${data.entities.version}/${data.faq.version}`;

/** A hash of the three files' bytes (a missing file hashes as such: its return is a change too). */
function fingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const file of Object.values(BOT_DATA_FILES)) {
    hash.update(file);
    try {
      hash.update(readFileSync(join(dir, file)));
    } catch {
      hash.update('\0missing');
    }
  }
  return hash.digest('hex');
}
