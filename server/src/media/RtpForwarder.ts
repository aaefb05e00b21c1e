import { randomInt } from 'node:crypto';
import type { Track } from 'node-datachannel';
import { senderReport, type ClockMapping } from './rtp';

/** Counters of every forwarder in this process, read by the metrics; plain numbers, no labels. */
export const forwardingTotals = { packets: 0, bytes: 0, retransmissions: 0 };

/**
 * Sends one kind of a stream's RTP to one viewer: its own SSRC and payload type, and sequence
 * numbers and timestamps offset so that they run on without a jump when the publisher changes
 * (RFC 7667 §3.7: a media-switching mixer keeps the outgoing stream continuous).
 *
 * The router writes each packet once into a buffer shared by all viewers; the forwarder patches
 * the header fields that are the viewer's own and hands it to libdatachannel, which copies,
 * encrypts and sends it synchronously, so the buffer is free again when `send` returns.
 */
export class RtpForwarder {
  private seqOffset = 0;
  private tsOffset = 0;
  private lastOutSeq = randomInt(0, 0x10000);
  private lastOutTs = randomInt(0, 0x100000000);
  private lastSentAt = 0;
  private rebase = true;
  private packetCount = 0;
  private octetCount = 0;

  constructor(
    private readonly track: Track,
    readonly payloadType: number,
    private readonly clockRate: number,
    readonly ssrc: number,
  ) {}

  /** The next packet starts a new source (a publisher came back): continue from where we are. */
  sourceChanged(): void {
    this.rebase = true;
  }

  /** `out` holds the packet (12-byte header, payload) with the publisher's numbers in it. */
  send(out: Buffer, sequence: number, timestamp: number, now: number): void {
    if (this.rebase) {
      const elapsedTicks =
        this.lastSentAt === 0
          ? 0
          : Math.max(1, Math.round(((now - this.lastSentAt) * this.clockRate) / 1000));
      this.seqOffset = (this.lastOutSeq + 1 - sequence) & 0xffff;
      this.tsOffset = (this.lastOutTs + elapsedTicks - timestamp) >>> 0;
      this.rebase = false;
    }
    const outSeq = (sequence + this.seqOffset) & 0xffff;
    const outTs = (timestamp + this.tsOffset) >>> 0;
    if (((outSeq - this.lastOutSeq) & 0xffff) < 0x8000) {
      this.lastOutSeq = outSeq;
      this.lastOutTs = outTs;
    }
    this.lastSentAt = now;
    this.packetCount += 1;
    this.octetCount += out.length - 12;
    this.write(out, outSeq, outTs);
  }

  /** Maps a sequence number the viewer asked for back to the publisher's, for the shared history. */
  inputSequenceOf(outputSequence: number): number {
    return (outputSequence - this.seqOffset) & 0xffff;
  }

  /** Sends a packet again with the numbers it had the first time (RFC 4588 without RTX). */
  resend(out: Buffer, sequence: number, timestamp: number): void {
    forwardingTotals.retransmissions += 1;
    this.write(out, (sequence + this.seqOffset) & 0xffff, (timestamp + this.tsOffset) >>> 0);
  }

  /** A sender report for this viewer, translated from the publisher's clock mapping. */
  senderReport(mapping: ClockMapping): void {
    if (this.packetCount === 0) return;
    this.track.sendMessageBinary(
      senderReport(
        this.ssrc,
        mapping,
        mapping.rtpTimestamp + this.tsOffset,
        this.packetCount,
        this.octetCount,
      ),
    );
  }

  private write(out: Buffer, sequence: number, timestamp: number): void {
    out[1] = ((out[1] as number) & 0x80) | this.payloadType;
    out.writeUInt16BE(sequence, 2);
    out.writeUInt32BE(timestamp, 4);
    out.writeUInt32BE(this.ssrc, 8);
    this.track.sendMessageBinary(out);
    forwardingTotals.packets += 1;
    forwardingTotals.bytes += out.length;
  }
}
