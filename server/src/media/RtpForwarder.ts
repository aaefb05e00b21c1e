import { randomInt } from 'node:crypto';
import { paddingPacket, senderReport, type ClockMapping } from './rtp';

/** Counters of every forwarder in this process, read by the metrics; plain numbers, no labels. */
export const forwardingTotals = { packets: 0, bytes: 0, retransmissions: 0, padding: 0 };

/** Hands one finished packet to the viewer's connection (libdatachannel copies it at once). */
export type PacketSink = (packet: Buffer) => void;

/** Output sequence numbers remembered for NACKs: a power of two, over a second of 720p video. */
const sequenceMemory = 1024;

/**
 * Sends one kind of a stream's RTP to one viewer: its own SSRC and payload type, and sequence
 * numbers and timestamps offset so that they run on without a jump when the source changes (a
 * publisher came back, or the viewer moved to another simulcast layer: RFC 7667 §3.7, a
 * media-switching mixer keeps the outgoing stream continuous). Packets the viewer is not sent
 * (a dropped temporal layer) take no sequence number, and padding sent to probe the viewer's
 * bandwidth takes one, so the viewer sees no gap either way (RFC 3550 §5.1).
 *
 * The router writes each packet once into a buffer shared by all viewers; the forwarder patches
 * the header fields that are the viewer's own and hands it on, and the sink copies it, so the
 * buffer is free again when `send` returns.
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
  /** For each recent output sequence number: the source and input sequence it carried (-1: padding). */
  private readonly sentFrom = new Int32Array(sequenceMemory).fill(-1);
  /** The output sequence number each slot of `sentFrom` was written for. */
  private readonly sentAs = new Int32Array(sequenceMemory).fill(-1);

  constructor(
    private readonly sink: PacketSink,
    readonly payloadType: number,
    private readonly clockRate: number,
    readonly ssrc: number,
  ) {}

  /** The next packet starts a new source (a publisher came back, another layer): continue from here. */
  sourceChanged(): void {
    this.rebase = true;
  }

  /**
   * `out` holds the packet (12-byte header, payload) with the source's numbers in it; `source`
   * (a simulcast layer, 0..15) is remembered with it to answer NACKs.
   */
  send(out: Buffer, sequence: number, timestamp: number, now: number, source = 0): number {
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
    this.remember(outSeq, (source << 16) | sequence);
    this.lastSentAt = now;
    this.packetCount += 1;
    this.octetCount += out.length - 12;
    this.write(out, outSeq, outTs);
    return outSeq;
  }

  /**
   * A packet of the current source this viewer is not sent (a temporal layer it cannot take):
   * the packets after it move up one sequence number, so the viewer sees no loss.
   */
  skip(): void {
    if (!this.rebase) this.seqOffset = (this.seqOffset - 1) & 0xffff;
  }

  /** Padding of `size` bytes with the next sequence number and the last timestamp: a bandwidth probe. */
  pad(size: number): void {
    if (this.packetCount === 0 || this.rebase) return;
    const outSeq = (this.lastOutSeq + 1) & 0xffff;
    this.seqOffset = (this.seqOffset + 1) & 0xffff;
    this.lastOutSeq = outSeq;
    this.remember(outSeq, -1);
    forwardingTotals.padding += 1;
    this.sink(paddingPacket(this.payloadType, outSeq, this.lastOutTs, this.ssrc, size));
  }

  /**
   * The source and its sequence number that a sequence number the viewer asked for carried, to
   * find it in the stream's history; undefined for padding or what is too old to know.
   */
  inputOf(outputSequence: number): { source: number; sequence: number } | undefined {
    const slot = outputSequence & (sequenceMemory - 1);
    const from = this.sentFrom[slot] ?? -1;
    // A slot last written for another output number: what was asked for is too old.
    if (from < 0 || this.sentAs[slot] !== outputSequence) return undefined;
    return { source: from >> 16, sequence: from & 0xffff };
  }

  /** Sends a packet again with the numbers it had the first time (RFC 4588 without RTX). */
  resend(out: Buffer, outputSequence: number, timestamp: number): void {
    forwardingTotals.retransmissions += 1;
    this.write(out, outputSequence, (timestamp + this.tsOffset) >>> 0);
  }

  /** A sender report for this viewer, translated from the source's clock mapping. */
  senderReport(mapping: ClockMapping): void {
    if (this.packetCount === 0 || this.rebase) return;
    this.sink(
      senderReport(
        this.ssrc,
        mapping,
        mapping.rtpTimestamp + this.tsOffset,
        this.packetCount,
        this.octetCount,
      ),
    );
  }

  private remember(outSeq: number, from: number): void {
    const slot = outSeq & (sequenceMemory - 1);
    this.sentFrom[slot] = from;
    this.sentAs[slot] = outSeq;
  }

  private write(out: Buffer, sequence: number, timestamp: number): void {
    out[1] = ((out[1] as number) & 0x80) | this.payloadType;
    out.writeUInt16BE(sequence, 2);
    out.writeUInt32BE(timestamp, 4);
    out.writeUInt32BE(this.ssrc, 8);
    this.sink(out);
    forwardingTotals.packets += 1;
    forwardingTotals.bytes += out.length;
  }
}
