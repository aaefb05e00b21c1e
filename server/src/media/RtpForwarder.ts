import { randomInt } from 'node:crypto';
import { RtcpSenderInfo, RtcpSrPacket, RtpHeader, type RTCRtpSender, type RtpPacket } from 'werift';

/** What a publisher's sender report says: this NTP time is this RTP timestamp (RFC 3550 §6.4.1). */
export interface ClockMapping {
  ntpTimestamp: bigint;
  rtpTimestamp: number;
}

/**
 * Sends one kind of a stream's RTP to one viewer: its own SSRC and payload type, and sequence
 * numbers and timestamps offset so that they run on without a jump when the publisher changes
 * (RFC 7667 §3.7: a media-switching mixer keeps the outgoing stream continuous).
 *
 * It writes straight to the viewer's DTLS transport instead of werift's `sender.sendRtp`, which
 * copies every packet, rebuilds its header extensions and keeps a history per viewer: the router
 * keeps one history for all viewers and answers NACKs through `resend`.
 */
export class RtpForwarder {
  private readonly header = new RtpHeader();
  private seqOffset = 0;
  private tsOffset = 0;
  private lastOutSeq = randomInt(0, 0x10000);
  private lastOutTs = randomInt(0, 0x100000000);
  private lastSentAt = 0;
  private rebase = true;
  private packetCount = 0;
  private octetCount = 0;

  constructor(
    private readonly sender: RTCRtpSender,
    private readonly clockRate: number,
  ) {}

  /** Whether the viewer's transport is up and the codec negotiated. */
  get ready(): boolean {
    return this.sender.dtlsTransport?.state === 'connected' && this.sender.codec !== undefined;
  }

  /** The next packet starts a new source (a publisher came back): continue from where we are. */
  sourceChanged(): void {
    this.rebase = true;
  }

  send(packet: RtpPacket, now: number): void {
    const input = packet.header;
    if (this.rebase) {
      const elapsedTicks =
        this.lastSentAt === 0
          ? 0
          : Math.max(1, Math.round(((now - this.lastSentAt) * this.clockRate) / 1000));
      this.seqOffset = (this.lastOutSeq + 1 - input.sequenceNumber) & 0xffff;
      this.tsOffset = (this.lastOutTs + elapsedTicks - input.timestamp) >>> 0;
      this.rebase = false;
    }
    const sequenceNumber = (input.sequenceNumber + this.seqOffset) & 0xffff;
    const timestamp = (input.timestamp + this.tsOffset) >>> 0;
    if (((sequenceNumber - this.lastOutSeq) & 0xffff) < 0x8000) {
      this.lastOutSeq = sequenceNumber;
      this.lastOutTs = timestamp;
    }
    this.lastSentAt = now;
    this.packetCount += 1;
    this.octetCount += packet.payload.length;
    this.write(input, sequenceNumber, timestamp, packet.payload);
  }

  /** Maps a sequence number the viewer asked for back to the publisher's, for the shared history. */
  inputSequenceOf(outputSequence: number): number {
    return (outputSequence - this.seqOffset) & 0xffff;
  }

  /** Sends a packet again with the numbers it had the first time (RFC 4588 without RTX). */
  resend(packet: RtpPacket): void {
    const input = packet.header;
    this.write(
      input,
      (input.sequenceNumber + this.seqOffset) & 0xffff,
      (input.timestamp + this.tsOffset) >>> 0,
      packet.payload,
    );
  }

  /** A sender report for this viewer, translated from the publisher's clock mapping. */
  senderReport(mapping: ClockMapping): void {
    if (!this.ready || this.packetCount === 0) return;
    const report = new RtcpSrPacket({
      ssrc: this.sender.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: mapping.ntpTimestamp,
        rtpTimestamp: (mapping.rtpTimestamp + this.tsOffset) >>> 0,
        packetCount: this.packetCount >>> 0,
        octetCount: this.octetCount >>> 0,
      }),
    });
    this.sender.dtlsTransport.sendRtcp([report]).catch(() => undefined);
  }

  private write(
    input: RtpHeader,
    sequenceNumber: number,
    timestamp: number,
    payload: Buffer,
  ): void {
    const header = this.header;
    header.marker = input.marker;
    header.payloadType = this.sender.codec?.payloadType ?? input.payloadType;
    header.sequenceNumber = sequenceNumber;
    header.timestamp = timestamp;
    header.ssrc = this.sender.ssrc;
    // The transport encrypts synchronously before its first await, so the header can be reused.
    void this.sender.dtlsTransport.sendRtp(payload, header);
  }
}
