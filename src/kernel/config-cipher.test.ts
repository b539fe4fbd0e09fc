import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { createConfigCipher, type SealedValue } from './config-cipher.ts';

const key = randomBytes(32);
const flip = (b64: string): string => {
  const bytes = Buffer.from(b64, 'base64');
  bytes[0] = bytes[0]! ^ 0x01;
  return bytes.toString('base64');
};

describe('config cipher (AES-256-GCM)', () => {
  test('opens what it sealed, and the sealed form holds no plaintext', () => {
    const cipher = createConfigCipher(key);
    const sealed = cipher.seal('s3cret-token-value', 'crm/apiToken');
    assert.equal(cipher.open(sealed, 'crm/apiToken'), 's3cret-token-value');
    assert.ok(!JSON.stringify(sealed).includes('s3cret'));
    assert.notEqual(cipher.seal('s3cret-token-value', 'crm/apiToken').iv, sealed.iv, 'a fresh IV per seal');
  });

  test('refuses a sealed value whose data, tag or IV was changed', () => {
    const cipher = createConfigCipher(key);
    const sealed = cipher.seal('s3cret-token-value', 'crm/apiToken');
    for (const part of ['data', 'tag', 'iv'] as const) {
      const tampered: SealedValue = { ...sealed, [part]: flip(sealed[part]) };
      assert.throws(() => cipher.open(tampered, 'crm/apiToken'), /changed|another/, part);
    }
  });

  test('refuses a sealed value moved to another field or connector', () => {
    const cipher = createConfigCipher(key);
    const sealed = cipher.seal('s3cret-token-value', 'crm/apiToken');
    assert.throws(() => cipher.open(sealed, 'crm/clientSecret'), /another field/);
    assert.throws(() => cipher.open(sealed, 'crm-second/apiToken'), /another field/);
  });

  test('refuses a value sealed with another key', () => {
    const sealed = createConfigCipher(key).seal('s3cret-token-value', 'crm/apiToken');
    assert.throws(() => createConfigCipher(randomBytes(32)).open(sealed, 'crm/apiToken'), /another key/);
  });

  test('takes only a 32-byte key', () => {
    assert.throws(() => createConfigCipher(randomBytes(16)), /32 bytes/);
  });
});
