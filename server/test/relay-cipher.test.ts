import { describe, expect, it } from 'vitest';
import { deriveKey } from '../src/auth/secret-box';
import { RelayCipher, sealOverhead } from '../src/media/RelayCipher';
import { ReplayWindow } from '../src/media/ReplayWindow';

const key = deriveKey('a-deployment-secret-of-at-least-32-chars', 'media relay between nodes');
const body = Buffer.from('an RTP packet, as far as the relay cares');

describe('relay datagrams between nodes', () => {
  it('open with the key they were sealed with, to the same type, channel and body', () => {
    const sealed = new RelayCipher(key).seal(2, 0xdeadbeef, body);
    expect(sealed.length).toBe(body.length + sealOverhead);
    // The body does not travel in clear.
    expect(sealed.includes(body.subarray(0, 12))).toBe(false);
    expect(new RelayCipher(key).open(sealed)).toMatchObject({ type: 2, channel: 0xdeadbeef, body });
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

// RFC 3711 §3.3.2: a datagram already received, or older than the window, is a replay.
describe('the replay window of relay datagrams', () => {
  it('accepts each counter of a sender once, in any order within the window', () => {
    const cipher = new RelayCipher(key);
    const window = new ReplayWindow();
    const opened = [1, 2, 3].map(() => new RelayCipher(key).open(cipher.seal(1, 7, body))!);
    const [first, second, third] = opened as [
      (typeof opened)[0],
      (typeof opened)[0],
      (typeof opened)[0],
    ];
    expect(second.counter).toBe(first.counter + 1);
    expect(window.accept(first.sender, third.counter)).toBe(true);
    expect(window.accept(first.sender, first.counter)).toBe(true);
    expect(window.accept(first.sender, second.counter)).toBe(true);
    for (const { sender, counter } of opened) expect(window.accept(sender, counter)).toBe(false);
    // Another sender's counters are its own.
    expect(window.accept(first.sender + 1, first.counter)).toBe(true);
  });

  it('refuses a counter older than the window', () => {
    const window = new ReplayWindow();
    expect(window.accept(9, 5000)).toBe(true);
    expect(window.accept(9, 5000 - 1023)).toBe(true);
    expect(window.accept(9, 5000 - 1024)).toBe(false);
    expect(window.accept(9, 1)).toBe(false);
  });
});
