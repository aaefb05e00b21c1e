import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * A key of its own for each use of the server secret (RFC 5869 HKDF), so a value sealed or
 * signed for one purpose is worth nothing for another, and the secret itself is never used twice.
 */
export function deriveKey(serverSecret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', serverSecret, 'onair', purpose, 32));
}

const ivBytes = 12;
const tagBytes = 16;

/**
 * Authenticated encryption (AES-256-GCM) of short secrets kept in the database. `context` is bound
 * into the tag as associated data: a sealed value copied to another row does not open there.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {}

  /** `iv || tag || ciphertext`, base64url. */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The plaintext, or undefined when the value was sealed under another key or context. */
  open(sealed: string, context: string): string | undefined {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < ivBytes + tagBytes) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, ivBytes));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(raw.subarray(ivBytes, ivBytes + tagBytes));
      return Buffer.concat([
        decipher.update(raw.subarray(ivBytes + tagBytes)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** A short HMAC-SHA256 of `message`, base64url (128 bits: enough for an unguessable capability). */
export function signature(key: Buffer, message: string): string {
  return createHmac('sha256', key).update(message).digest().subarray(0, 16).toString('base64url');
}
