import { rtpSequence } from './rtp';

/**
 * The last second or so of a stream's packets of one kind, by sequence number, shared by all of
 * its viewers: a viewer's NACK (RFC 4585 §6.2.1) is answered from here, never passed on to the
 * broadcaster.
 */
export class RetransmissionBuffer {
  private readonly packets: (Buffer | undefined)[];
  private readonly arrivedAt: Float64Array;

  /** @param size slots (a power of two); 1024 holds over a second of 720p video. */
  constructor(
    private readonly size = 1024,
    private readonly maxAgeMs = 1000,
  ) {
    this.packets = new Array<Buffer | undefined>(size);
    this.arrivedAt = new Float64Array(size);
  }

  push(packet: Buffer, now: number): void {
    const slot = rtpSequence(packet) & (this.size - 1);
    this.packets[slot] = packet;
    this.arrivedAt[slot] = now;
  }

  get(sequenceNumber: number, now: number): Buffer | undefined {
    const slot = sequenceNumber & (this.size - 1);
    const packet = this.packets[slot];
    if (!packet || rtpSequence(packet) !== sequenceNumber) return undefined;
    return now - (this.arrivedAt[slot] ?? 0) <= this.maxAgeMs ? packet : undefined;
  }

  clear(): void {
    this.packets.fill(undefined);
  }
}
