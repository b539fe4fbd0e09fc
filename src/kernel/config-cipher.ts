import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** The length of an `OMNIGATE_CONFIG_ENCRYPTION_KEY` (AES-256): 32 bytes. */
export const CONFIG_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A value sealed with AES-256-GCM, as stored at rest (base64 parts). */
export interface SealedValue {
  readonly alg: 'aes-256-gcm';
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

/**
 * Seals and opens values stored at rest. `context` (say `crm-python/apiToken`) is bound to the
 * value as additional authenticated data: a sealed value copied to another field or connector,
 * a changed byte, or another key, is refused on open.
 */
export interface ConfigCipher {
  seal(plaintext: string, context: string): SealedValue;
  /** The plaintext; throws when the value was changed, belongs to another context or was sealed with another key. */
  open(sealed: SealedValue, context: string): string;
}

/** A cipher over a 32-byte key (never logged: the caller registers it as a secret). */
export function createConfigCipher(key: Uint8Array): ConfigCipher {
  if (key.length !== CONFIG_KEY_BYTES) throw new Error(`the config encryption key must be ${CONFIG_KEY_BYTES} bytes, not ${key.length}`);
  const secret = Buffer.from(key);
  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { alg: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    },
    open(sealed, context) {
      const iv = Buffer.from(sealed.iv, 'base64');
      const tag = Buffer.from(sealed.tag, 'base64');
      if (sealed.alg !== 'aes-256-gcm' || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('not a sealed value of this gateway');
      const decipher = createDecipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
      } catch (err) {
        // The cause (OpenSSL's "unable to authenticate data") says nothing more; never a value.
        throw new Error('the sealed value was changed, belongs to another field, or was sealed with another key', { cause: err });
      }
    },
  };
}
