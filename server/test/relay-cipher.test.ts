import { describe, expect, it } from 'vitest';
import { deriveKey } from '../src/auth/secret-box';
import { RelayCipher, sealOverhead } from '../src/media/RelayCipher';

const key = deriveKey('a-deployment-secret-of-at-least-32-chars', 'media relay between nodes');
const body = Buffer.from('an RTP packet, as far as the relay cares');

describe('relay datagrams between nodes', () => {
  it('open with the key they were sealed with, to the same type, channel and body', () => {
    const sealed = new RelayCipher(key).seal(2, 0xdeadbeef, body);
    expect(sealed.length).toBe(body.length + sealOverhead);
    // The body does not travel in clear.
    expect(sealed.includes(body.subarray(0, 12))).toBe(false);
    expect(new RelayCipher(key).open(sealed)).toEqual({ type: 2, channel: 0xdeadbeef, body });
  });

  it('never repeat a nonce: the same body sealed twice differs', () => {
    const cipher = new RelayCipher(key);
    const first = cipher.seal(1, 7, body);
    const second = cipher.seal(1, 7, body);
    expect(first.subarray(5, 17).equals(second.subarray(5, 17))).toBe(false);
    expect(first.equals(second)).toBe(false);
  });

  it('do not open with another deployment’s key, or once any byte was changed', () => {
    const sealed = new RelayCipher(key).seal(1, 7, body);
    const other = deriveKey('another-deployment-secret-of-32-chars!!', 'media relay between nodes');
    expect(new RelayCipher(other).open(sealed)).toBeUndefined();
    // Type and channel are bound into the tag, as are the nonce, the body and the tag itself.
    for (const at of [0, 1, 4, 5, 16, 17, sealed.length - 20, sealed.length - 1]) {
      const changed = Buffer.from(sealed);
      changed[at] = (changed[at] ?? 0) ^ 0x01;
      expect(new RelayCipher(key).open(changed), `byte ${at}`).toBeUndefined();
    }
    expect(new RelayCipher(key).open(sealed.subarray(0, sealOverhead - 1))).toBeUndefined();
    expect(new RelayCipher(key).open(Buffer.alloc(0))).toBeUndefined();
  });

  it('refuses a key of the wrong length', () => {
    expect(() => new RelayCipher(Buffer.alloc(16))).toThrow(/32 bytes/);
  });
});
