import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, MAX_PROCESSES, processCountOf } from './config.ts';

const A = 'aaaaaaaaaaaaaaaa-1';
const B = 'bbbbbbbbbbbbbbbb-2';
const C = 'cccccccccccccccc-3';

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env, '/tmp');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('API and admin keys', () => {
  test('refuses a key without a name, so that what a key owns never depends on its place in the list', () => {
    const problems = problemsOf({ OMNIGATE_API_KEYS: `alice:${A},${B}` });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /OMNIGATE_API_KEYS .*name:key/);
    assert.match(problemsOf({ OMNIGATE_API_KEYS: `alice:${A}`, OMNIGATE_ADMIN_KEYS: C })[0] ?? '', /OMNIGATE_ADMIN_KEYS .*name:key/);
  });

  test('names a key by its name, whatever its place: removing another key changes nothing', () => {
    const before = loadConfig({ OMNIGATE_API_KEYS: `alice:${A},bob:${B}` }, '/tmp');
    const after = loadConfig({ OMNIGATE_API_KEYS: `bob:${B}` }, '/tmp');
    assert.equal(before.apiKeys.find((k) => k.key === B)?.name, 'bob');
    assert.equal(after.apiKeys.find((k) => k.key === B)?.name, 'bob');
  });

  test('refuses a key listed twice at start, and says under which names without showing the key', () => {
    const problems = problemsOf({ OMNIGATE_API_KEYS: `alice:${A},bob:${A}` });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /OMNIGATE_API_KEYS lists the same key twice \(alice, bob\)/);
    assert.ok(!problems[0]?.includes(A));
    assert.match(problemsOf({ OMNIGATE_API_KEYS: `alice:${A},alice:${A}` })[0] ?? '', /same key twice/);
    assert.match(problemsOf({ OMNIGATE_API_KEYS: `alice:${A}`, OMNIGATE_ADMIN_KEYS: `ops:${A}` })[0] ?? '', /must not repeat a key/);
  });

  test('allows two keys under one name, so a key can be rotated without losing what it owns', () => {
    const config = loadConfig({ OMNIGATE_API_KEYS: `alice:${A},alice:${B},bob:${C}` }, '/tmp');
    assert.deepEqual(config.apiKeys.map((k) => k.name), ['alice', 'alice', 'bob']);
  });

  test('refuses a name that is both an API key and an admin key: one name, one principal', () => {
    assert.match(problemsOf({ OMNIGATE_API_KEYS: `alice:${A}`, OMNIGATE_ADMIN_KEYS: `alice:${B}` })[0] ?? '', /both .*alice/);
  });
});

describe('processes per host', () => {
  test('auto is one per core, at most MAX_PROCESSES (the process index stops there); a number is itself', () => {
    assert.deepEqual([processCountOf('auto', 2), processCountOf('auto', 1), processCountOf('auto', 0)], [2, 1, 1]);
    assert.equal(processCountOf('auto', 192), MAX_PROCESSES);
    assert.equal(processCountOf('7', 192), 7);
  });
});

describe('Redis', () => {
  test('the cache Redis defaults to REDIS_URL, takes its own URL, and refuses one that is not redis://', () => {
    const shared = loadConfig({ OMNIGATE_API_KEYS: `alice:${A}`, REDIS_URL: 'redis://durable:6379' }, '/tmp');
    assert.equal(shared.redisCacheUrl, 'redis://durable:6379');
    assert.equal(shared.redisMemoryWarnPercent, 80);
    const apart = loadConfig({ OMNIGATE_API_KEYS: `alice:${A}`, REDIS_URL: 'redis://durable:6379', REDIS_CACHE_URL: 'redis://cache:6379' }, '/tmp');
    assert.equal(apart.redisCacheUrl, 'redis://cache:6379');
    const problems = problemsOf({ OMNIGATE_API_KEYS: `alice:${A}`, REDIS_CACHE_URL: 'http://cache', OMNIGATE_REDIS_MEMORY_WARN_PERCENT: '120' });
    assert.equal(problems.length, 2);
    assert.match(problems.join('\n'), /REDIS_CACHE_URL/);
    assert.match(problems.join('\n'), /OMNIGATE_REDIS_MEMORY_WARN_PERCENT/);
  });
});

describe('chat settings', () => {
  test('reads the OMNIGATE_CHAT_* timers in ms, and names each bad variable with the other problems', () => {
    const config = loadConfig({ OMNIGATE_API_KEYS: `alice:${A}`, OMNIGATE_CHAT_AGENT_ANSWER_MS: '250', OMNIGATE_CHAT_BOT: 'builtin' }, '/tmp');
    assert.equal(config.chat.agentAnswerMs, 250);
    assert.equal(config.chat.bot, 'builtin');
    const problems = problemsOf({ OMNIGATE_API_KEYS: 'nope', OMNIGATE_CHAT_VISITOR_IDLE_MS: 'soon', OMNIGATE_CHAT_BOT: 'gpt' });
    assert.equal(problems.length, 3);
    assert.ok(problems.some((p) => p.startsWith('OMNIGATE_CHAT_VISITOR_IDLE_MS ')));
    assert.ok(problems.some((p) => p.startsWith('OMNIGATE_CHAT_BOT ')));
  });
});

describe('stale cache', () => {
  test('rewrites an identical answer after 60 s by default, takes 0 (every answer) and refuses a negative time', () => {
    const keys = { OMNIGATE_API_KEYS: `alice:${A}` };
    assert.equal(loadConfig(keys, '/tmp').staleRewriteMs, 60_000);
    assert.equal(loadConfig({ ...keys, OMNIGATE_STALE_REWRITE_MS: '0' }, '/tmp').staleRewriteMs, 0);
    assert.match(problemsOf({ ...keys, OMNIGATE_STALE_REWRITE_MS: '-1' })[0] ?? '', /OMNIGATE_STALE_REWRITE_MS/);
  });
});

describe('outbox relay', () => {
  test('polls every second by default (the bell wakes it meanwhile), takes a minute, and refuses under 10 ms', () => {
    const keys = { OMNIGATE_API_KEYS: `alice:${A}` };
    assert.equal(loadConfig(keys, '/tmp').outboxPollMs, 1_000);
    assert.equal(loadConfig({ ...keys, OMNIGATE_OUTBOX_POLL_MS: '60000' }, '/tmp').outboxPollMs, 60_000);
    assert.match(problemsOf({ ...keys, OMNIGATE_OUTBOX_POLL_MS: '5' })[0] ?? '', /OMNIGATE_OUTBOX_POLL_MS/);
  });
});
