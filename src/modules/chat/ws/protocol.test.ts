import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../../../kernel/errors.ts';
import { DISPATCH_FRAME_TYPES } from './dispatch-frames.ts';
import { FRAME_HANDLERS } from './frame-handlers.ts';
import { errorFrame, eventFrame } from './frames.ts';
import { createProtocol, loadAsyncApi } from './protocol.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const doc = loadAsyncApi(ROOT);
const protocol = createProtocol(doc);
const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

test('the dispatcher handles exactly the client frames the AsyncAPI document declares', () => {
  assert.deepEqual(new Set(Object.keys(FRAME_HANDLERS)), protocol.clientTypes);
});

test('the document declares every server frame the code writes', () => {
  const written = new Set<string>();
  for (const file of ['chat-sockets.ts', 'conversation-feeds.ts', 'frame-handlers.ts', 'agent-presence.ts', 'typing.ts']) {
    const source = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
    for (const m of source.matchAll(/\bframe\('([a-z.]+)'/g)) written.add(m[1]!);
  }
  written.add('event').add('error');
  // Dispatch's frames (offers, queue positions) are relayed: only these types are written.
  for (const type of DISPATCH_FRAME_TYPES) written.add(type);
  assert.deepEqual(written, protocol.serverTypes);
});

test('the error frame\'s code enum is the error catalogue', () => {
  const schemas = (doc.components as { schemas: Record<string, { properties: { code: { enum: string[] } } }> }).schemas;
  assert.deepEqual(new Set(schemas.ErrorFrame!.properties.code.enum), new Set(codes));
});

test('every close code the document lists is the catalogue\'s code for that error, and every code the sockets close with is listed', () => {
  for (const [code, name] of protocol.closeCodes) assert.equal(ERROR_CATALOGUE[name as ErrorCode]?.wsClose, code, `${code} ${name}`);
  const closedWith = new Set<string>();
  for (const file of ['chat-sockets.ts', 'conversation-feeds.ts', 'socket-session.ts']) {
    const source = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8');
    for (const m of source.matchAll(/closeWith\(\s*'([A-Z_]+)'/g)) closedWith.add(m[1]!);
    for (const m of source.matchAll(/ERROR_CATALOGUE\.([A-Z_]+)\.wsClose/g)) closedWith.add(m[1]!);
  }
  // Upgrade refusals and ws's own limit (maxPayload → 1009).
  for (const name of ['UNAUTHENTICATED', 'TOKEN_EXPIRED', 'ORIGIN_NOT_ALLOWED', 'FRAME_TOO_LARGE']) closedWith.add(name);
  const listed = new Set(protocol.closeCodes.values());
  for (const name of closedWith) assert.ok(listed.has(name), `${name} is not in x-close-codes`);
});

test('every error frame the gateway can write is valid against the document', () => {
  for (const code of codes) {
    assert.deepEqual(protocol.checkServerFrame(JSON.parse(errorFrame(new AppError(code, 'why', { state: 'queued' }), 'c-1'))), [], code);
  }
});

test('refuses malformed JSON, unknown types and invalid frames with the frame id, and passes valid ones', () => {
  const refusal = (text: string) => {
    try {
      protocol.parseClientFrame(text);
    } catch (err) {
      return err instanceof AppError ? { code: err.code, id: err.extensions.id } : err;
    }
    return undefined;
  };
  assert.deepEqual(refusal('{"type":'), { code: 'MALFORMED_JSON', id: undefined });
  assert.deepEqual(refusal('[1]'), { code: 'VALIDATION_FAILED', id: undefined });
  assert.deepEqual(refusal('{"type":"nope","id":"a"}'), { code: 'VALIDATION_FAILED', id: 'a' });
  assert.deepEqual(refusal('{"type":"message.send","id":"m1","conversationId":"c","contentType":"text"}'), { code: 'VALIDATION_FAILED', id: 'm1' });
  assert.deepEqual(refusal('{"type":"message.send","id":"m1","conversationId":"c","contentType":"card","text":"hi"}'), { code: 'VALIDATION_FAILED', id: 'm1' });
  assert.deepEqual(refusal('{"type":"subscribe","id":"s1","conversationId":"c","afterSeq":-1}'), { code: 'VALIDATION_FAILED', id: 's1' });
  assert.deepEqual(refusal('{"type":"ping","id":"p","extra":1}'), { code: 'VALIDATION_FAILED', id: 'p' });
  assert.equal(refusal('{"type":"message.send","id":"m1","conversationId":"c","contentType":"text","text":"hi"}'), undefined);
  assert.equal(refusal('{"type":"command","id":"k","conversationId":"c","command":"transfer","to":{"group":"billing"}}'), undefined);
  assert.equal(refusal('{"type":"typing","conversationId":"c","isTyping":true}'), undefined);
});

test('an event frame wraps the stored JSON as is and is valid', () => {
  const event = { seq: 3, id: 'e3', type: 'conversation.message_sent', at: '2025-01-01T00:00:00.000Z', by: { kind: 'visitor', id: 'v1' }, visibility: 'public', data: { text: 'hi' } };
  const text = eventFrame('c-1', JSON.stringify(event));
  assert.deepEqual(JSON.parse(text), { type: 'event', conversationId: 'c-1', event });
  assert.deepEqual(protocol.checkServerFrame(JSON.parse(text)), []);
});

test('the document holds together: every $ref resolves, every channel message is used by an operation, every message is on the channel', () => {
  const refs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) k === '$ref' && typeof v === 'string' ? refs.push(v) : walk(v);
  };
  walk(doc);
  const resolve = (ref: string) => ref.slice(2).split('/').reduce<unknown>((n, part) => (n as Record<string, unknown> | undefined)?.[part], doc);
  for (const ref of refs) assert.notEqual(resolve(ref), undefined, ref);
  const onChannel = Object.keys((doc.channels as { chat: { messages: object } }).chat.messages);
  const used = Object.values(doc.operations as Record<string, { messages: { $ref: string }[] }>).flatMap((op) => op.messages.map((m) => m.$ref.split('/').pop()));
  assert.deepEqual(new Set(used), new Set(onChannel));
  assert.deepEqual(new Set(onChannel), new Set(Object.keys((doc.components as { messages: object }).messages)));
  assert.equal(doc.asyncapi, '3.0.0');
});
