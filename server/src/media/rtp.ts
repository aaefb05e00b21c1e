/**
 * RTP and RTCP on the wire (RFC 3550 §5.1, §6.4), read straight from the bytes libdatachannel
 * hands over: no packet objects on the forwarding path.
 */

/** RTCP and RTP share one port (RFC 5761 §4): payload types 192–223 in the second byte are RTCP. */
export function isRtcp(packet: Buffer): boolean {
  const type = packet[1] ?? 0;
  return type >= 192 && type <= 223;
}

export const rtpSequence = (packet: Buffer): number => packet.readUInt16BE(2);
export const rtpTimestamp = (packet: Buffer): number => packet.readUInt32BE(4);
export const rtpSsrc = (packet: Buffer): number => packet.readUInt32BE(8);
export const rtpMarker = (packet: Buffer): boolean => ((packet[1] ?? 0) & 0x80) !== 0;

/** The fixed header every packet we forward has: no CSRCs, no extension, no padding. */
export const rtpHeaderLength = 12;

/**
 * The publisher's packet as viewers get it: the fixed header and the payload, without CSRCs,
 * header extensions (their ids were negotiated with the publisher, not with the viewer) or
 * padding. Returns the packet itself when it already has that shape, `undefined` when nothing
 * is left (padding-only probes) or it is malformed.
 */
export function normalizeRtp(packet: Buffer): Buffer | undefined {
  if (packet.length < rtpHeaderLength || (packet[0] ?? 0) >> 6 !== 2) return undefined;
  const b0 = packet[0] as number;
  let start = rtpHeaderLength + (b0 & 0x0f) * 4;
  if (b0 & 0x10) {
    if (packet.length < start + 4) return undefined;
    start += 4 + packet.readUInt16BE(start + 2) * 4;
  }
  let end = packet.length;
  if (b0 & 0x20) end -= packet[packet.length - 1] ?? 0;
  if (end <= start) return undefined;
  if (start === rtpHeaderLength && end === packet.length) return packet;
  const out = Buffer.allocUnsafe(rtpHeaderLength + end - start);
  packet.copy(out, 0, 0, rtpHeaderLength);
  out[0] = 0x80;
  packet.copy(out, rtpHeaderLength, start, end);
  return out;
}

/**
 * The value of header extension `id` (RFC 8285 §4.2 one-byte 0xBEDE, §4.3 two-byte 0x100x), or
 * undefined. Returns a subarray (no copy).
 */
export function rtpHeaderExtension(packet: Buffer, id: number): Buffer | undefined {
  if (packet.length < rtpHeaderLength || (packet[0] ?? 0) >> 6 !== 2) return undefined;
  const b0 = packet[0] as number;
  if (!(b0 & 0x10)) return undefined;
  const at = rtpHeaderLength + (b0 & 0x0f) * 4;
  if (packet.length < at + 4) return undefined;
  const profile = packet.readUInt16BE(at);
  const end = at + 4 + packet.readUInt16BE(at + 2) * 4;
  if (end > packet.length) return undefined;
  const oneByte = profile === 0xbede;
  // §4.3: 0x100 in the top 12 bits, the low 4 bits are "appbits" and may be anything.
  if (!oneByte && profile >> 4 !== 0x100) return undefined;
  let i = at + 4;
  while (i < end) {
    const head = packet[i] as number;
    // Padding bytes between elements are zero in both forms (§4.2, §4.3).
    if (head === 0) {
      i += 1;
      continue;
    }
    let elementId: number;
    let length: number;
    if (oneByte) {
      elementId = head >> 4;
      // §4.2: id 15 is reserved and ends the processing of the block.
      if (elementId === 15) return undefined;
      length = (head & 0x0f) + 1;
      i += 1;
    } else {
      if (i + 1 >= end) return undefined;
      elementId = head;
      length = packet[i + 1] as number;
      i += 2;
    }
    if (i + length > end) return undefined;
    if (elementId === id) return packet.subarray(i, i + length);
    i += length;
  }
  return undefined;
}

/** One RTCP packet of a compound packet. */
export interface RtcpItem {
  type: number;
  /** The count / format field (FMT for feedback messages, RFC 4585 §6.1). */
  format: number;
  /** Offset of the packet in the compound buffer, and its length in bytes. */
  offset: number;
  length: number;
}

/** Walks a compound RTCP packet (RFC 3550 §6.1); stops at the first malformed entry. */
export function* rtcpPackets(buffer: Buffer): Generator<RtcpItem> {
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const b0 = buffer[offset] as number;
    if (b0 >> 6 !== 2) return;
    const length = (buffer.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > buffer.length) return;
    yield { type: buffer[offset + 1] as number, format: b0 & 0x1f, offset, length };
    offset += length;
  }
}

export const rtcpType = {
  senderReport: 200,
  receiverReport: 201,
  transportFeedback: 205,
  payloadFeedback: 206,
};

/** A sender report's clock mapping (RFC 3550 §6.4.1): this NTP time is this RTP timestamp. */
export interface ClockMapping {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
}

export function readSenderReport(
  buffer: Buffer,
  item: RtcpItem,
): { ssrc: number; mapping: ClockMapping } | undefined {
  if (item.length < 28) return undefined;
  const o = item.offset;
  return {
    ssrc: buffer.readUInt32BE(o + 4),
    mapping: {
      ntpSeconds: buffer.readUInt32BE(o + 8),
      ntpFraction: buffer.readUInt32BE(o + 12),
      rtpTimestamp: buffer.readUInt32BE(o + 16),
    },
  };
}

/**
 * The report blocks of a receiver report (PT 201) or sender report (PT 200), RFC 3550
 * §6.4.1–6.4.2. fractionLost as 0..1, jitter in RTP timestamp units.
 */
export function readReportBlocks(
  buffer: Buffer,
  item: RtcpItem,
): {
  ssrc: number;
  fractionLost: number;
  cumulativeLost: number;
  highestSequence: number;
  jitter: number;
}[] {
  // The blocks follow the reporter's SSRC, and in a sender report also the 20-byte sender info.
  let first: number;
  if (item.type === rtcpType.receiverReport) first = 8;
  else if (item.type === rtcpType.senderReport) first = 28;
  else return [];
  const blocks = [];
  for (let n = 0; n < item.format; n += 1) {
    const o = item.offset + first + n * 24;
    if (o + 24 > item.offset + item.length) break;
    // §6.4.1: cumulative number of packets lost is a signed 24-bit value (duplicates make it negative).
    const lost = buffer.readUIntBE(o + 5, 3);
    blocks.push({
      ssrc: buffer.readUInt32BE(o),
      fractionLost: (buffer[o + 4] as number) / 256,
      cumulativeLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSequence: buffer.readUInt32BE(o + 8),
      jitter: buffer.readUInt32BE(o + 12),
    });
  }
  return blocks;
}

/** Media SSRC of a feedback message (RFC 4585 §6.1). */
export const feedbackMediaSsrc = (buffer: Buffer, item: RtcpItem): number =>
  item.length >= 12 ? buffer.readUInt32BE(item.offset + 8) : 0;

/** The sequence numbers a generic NACK (RFC 4585 §6.2.1) reports lost. */
export function nackedSequences(buffer: Buffer, item: RtcpItem): number[] {
  const lost: number[] = [];
  for (let o = item.offset + 12; o + 4 <= item.offset + item.length; o += 4) {
    const pid = buffer.readUInt16BE(o);
    const blp = buffer.readUInt16BE(o + 2);
    lost.push(pid);
    for (let bit = 0; bit < 16; bit += 1) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
  }
  return lost;
}

/** Picture Loss Indication (RFC 4585 §6.3.1). */
export function pictureLossIndication(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x81;
  packet[1] = rtcpType.payloadFeedback;
  packet.writeUInt16BE(2, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  return packet;
}

/** Generic NACK for these sequence numbers (RFC 4585 §6.2.1), packed into PID + bitmask pairs. */
export function genericNack(senderSsrc: number, mediaSsrc: number, lost: number[]): Buffer {
  const entries: [number, number][] = [];
  for (const seq of lost) {
    const last = entries[entries.length - 1];
    const distance = last ? (seq - last[0]) & 0xffff : 0;
    if (last && distance >= 1 && distance <= 16) last[1] |= 1 << (distance - 1);
    else entries.push([seq, 0]);
  }
  const packet = Buffer.alloc(12 + entries.length * 4);
  packet[0] = 0x81;
  packet[1] = rtcpType.transportFeedback;
  packet.writeUInt16BE(2 + entries.length, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(mediaSsrc, 8);
  entries.forEach(([pid, blp], i) => {
    packet.writeUInt16BE(pid, 12 + i * 4);
    packet.writeUInt16BE(blp, 14 + i * 4);
  });
  return packet;
}

/** Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb §2.2) for one SSRC. */
export function receiverEstimatedMaxBitrate(
  senderSsrc: number,
  bitrate: number,
  ssrc: number,
): Buffer {
  let mantissa = Math.floor(bitrate);
  let exponent = 0;
  while (mantissa > 0x3ffff) {
    mantissa >>>= 1;
    exponent += 1;
  }
  const packet = Buffer.alloc(24);
  packet[0] = 0x8f; // FMT 15: application layer feedback
  packet[1] = rtcpType.payloadFeedback;
  packet.writeUInt16BE(5, 2);
  packet.writeUInt32BE(senderSsrc, 4);
  packet.writeUInt32BE(0, 8);
  packet.write('REMB', 12, 'latin1');
  packet[16] = 1;
  packet[17] = (exponent << 2) | (mantissa >>> 16);
  packet.writeUInt16BE(mantissa & 0xffff, 18);
  packet.writeUInt32BE(ssrc, 20);
  return packet;
}

/**
 * REMB (draft-alvestrand-rmcat-remb §2.2) in a payload-specific feedback item (PT 206 FMT 15,
 * 'REMB'): bitrate in bit/s and the SSRCs it covers.
 */
export function readRemb(
  buffer: Buffer,
  item: RtcpItem,
): { bitrate: number; ssrcs: number[] } | undefined {
  if (item.type !== rtcpType.payloadFeedback || item.format !== 15 || item.length < 20)
    return undefined;
  const o = item.offset;
  if (buffer.toString('latin1', o + 12, o + 16) !== 'REMB') return undefined;
  const count = buffer[o + 16] as number;
  if (20 + count * 4 > item.length) return undefined;
  const exponent = (buffer[o + 17] as number) >> 2;
  const mantissa = (((buffer[o + 17] as number) & 0x03) << 16) | buffer.readUInt16BE(o + 18);
  const ssrcs: number[] = [];
  for (let n = 0; n < count; n += 1) ssrcs.push(buffer.readUInt32BE(o + 20 + n * 4));
  // Up to 2^63 · 2^18: beyond 32 bits, so a multiplication, not a shift.
  return { bitrate: mantissa * 2 ** exponent, ssrcs };
}

/**
 * A padding-only RTP packet (RFC 3550 §5.1 P bit; the last octet counts the padding) of `size`
 * bytes total (12-byte header + padding, padding 1..255), for bandwidth probing.
 */
export function paddingPacket(
  payloadType: number,
  sequence: number,
  timestamp: number,
  ssrc: number,
  size: number,
): Buffer {
  const padding = size - rtpHeaderLength;
  if (!Number.isInteger(padding) || padding < 1 || padding > 255)
    throw new RangeError(`padding packet of ${size} bytes: padding must be 1..255`);
  const packet = Buffer.alloc(size);
  packet[0] = 0xa0; // version 2, P bit
  packet[1] = payloadType & 0x7f;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
  packet[size - 1] = padding;
  return packet;
}

/** A sender report with no report blocks (RFC 3550 §6.4.1). */
export function senderReport(
  ssrc: number,
  mapping: ClockMapping,
  rtpTimestamp: number,
  packetCount: number,
  octetCount: number,
): Buffer {
  const packet = Buffer.alloc(28);
  packet[0] = 0x80;
  packet[1] = rtcpType.senderReport;
  packet.writeUInt16BE(6, 2);
  packet.writeUInt32BE(ssrc, 4);
  packet.writeUInt32BE(mapping.ntpSeconds, 8);
  packet.writeUInt32BE(mapping.ntpFraction, 12);
  packet.writeUInt32BE(rtpTimestamp >>> 0, 16);
  packet.writeUInt32BE(packetCount >>> 0, 20);
  packet.writeUInt32BE(octetCount >>> 0, 24);
  return packet;
}
