import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Type byte and 4-byte channel, sent in clear and bound into the tag. */
const headerLength = 5;
const nonceLength = 12;
const tagLength = 16;

/** What the relay key is derived for, from the deployment's secret (HKDF's info). */
export const relayKeyPurpose = 'media relay between nodes';

/** Bytes a sealed datagram adds to its body. */
export const sealOverhead = headerLength + nonceLength + tagLength;

/**
 * AES-256-GCM for relay datagrams between nodes, with a key every node of a deployment derives
 * from its shared secret. A datagram is `type | channel | nonce | ciphertext | tag`; type and
 * channel are associated data, so neither can be changed in flight. The nonce is this sender's
 * random 4-byte prefix and an 8-byte counter: unique per key for as long as two senders do not
 * draw the same prefix (1 in 2^32 per pair) and a sender does not send 2^64 datagrams.
 */
export class RelayCipher {
  private readonly prefix = randomBytes(4);
  private counter = 0;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('A relay key has 32 bytes');
  }

  seal(type: number, channel: number, body: Buffer): Buffer {
    const out = Buffer.allocUnsafe(sealOverhead + body.length);
    out[0] = type;
    out.writeUInt32BE(channel, 1);
    const nonce = out.subarray(headerLength, headerLength + nonceLength);
    this.prefix.copy(nonce, 0);
    this.counter += 1;
    nonce.writeUInt32BE(Math.floor(this.counter / 0x1_0000_0000), 4);
    nonce.writeUInt32BE(this.counter >>> 0, 8);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(out.subarray(0, headerLength));
    const bodyAt = headerLength + nonceLength;
    let written = cipher.update(body).copy(out, bodyAt);
    written += cipher.final().copy(out, bodyAt + written);
    cipher.getAuthTag().copy(out, bodyAt + written);
    return out;
  }

  /**
   * The datagram's type, channel and body, and who sealed it (`sender`, the nonce prefix, and
   * its `counter`, for a replay check), or undefined when it was not sealed with our key.
   */
  open(
    datagram: Buffer,
  ): { type: number; channel: number; body: Buffer; sender: number; counter: number } | undefined {
    if (datagram.length < sealOverhead) return undefined;
    const bodyAt = headerLength + nonceLength;
    const tagAt = datagram.length - tagLength;
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.key,
        datagram.subarray(headerLength, bodyAt),
      );
      decipher.setAAD(datagram.subarray(0, headerLength));
      decipher.setAuthTag(datagram.subarray(tagAt));
      const first = decipher.update(datagram.subarray(bodyAt, tagAt));
      const last = decipher.final();
      return {
        type: datagram.readUInt8(0),
        channel: datagram.readUInt32BE(1),
        body: last.length === 0 ? first : Buffer.concat([first, last]),
        sender: datagram.readUInt32BE(headerLength),
        counter:
          datagram.readUInt32BE(headerLength + 4) * 0x1_0000_0000 +
          datagram.readUInt32BE(headerLength + 8),
      };
    } catch {
      return undefined;
    }
  }
}
