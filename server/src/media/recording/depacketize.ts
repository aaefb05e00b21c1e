/**
 * Forwarded RTP packets back into whole encoded frames for a recorder, without re-encoding:
 * H.264 access units in Annex B (RFC 6184, packetization-mode 1), VP8 frames (RFC 7741) and Opus
 * packets (RFC 7587). One Depacketizer per track.
 *
 * Packets come in arrival order, so each track keeps a small reassembly window indexed by the
 * unwrapped sequence number (RFC 3550 A.1): a late retransmission still completes its frame, and a
 * packet that never comes costs at most `maxWaitMs` before the frames behind it move on. A
 * recorder cannot use a video frame that references a lost one, so after a loss video resumes at
 * the next keyframe.
 */
import { rtpHeaderLength, rtpMarker, rtpSequence, rtpTimestamp } from '../rtp';
import { readVp8 } from '../vp8';

export interface EncodedFrame {
  /** H.264: one access unit in Annex B (00 00 00 01 start codes); VP8: the frame bytes (descriptors stripped); Opus: the packet payload. */
  data: Buffer;
  /** The RTP timestamp (32-bit, as sent). */
  rtpTimestamp: number;
  keyframe: boolean;
}

export type DepacketizerCodec = 'h264' | 'vp8' | 'opus';

/** Slots in the window; a power of two so a sequence number maps to its slot with a mask. */
const capacity = 1024;
const mask = capacity - 1;
/** Past this many packets held behind a gap, the gap is given up on without waiting longer. */
const maxHeldBehindGap = 500;
/**
 * A jump this far from the newest packet is a new source (a publisher that reconnected without
 * a reset), not loss or reordering: no retransmission is thousands of packets late.
 */
const resetJump = 3000;

/** Chunk kinds of an H.264 access unit being assembled; a value 0–255 is a rebuilt NAL header. */
const fuContinuation = -2;
const wholeNal = -1;

const nal = { idr: 5, sei: 6, sps: 7, pps: 8, aud: 9, stapA: 24, fuA: 28 } as const;

export class Depacketizer {
  readonly #codec: DepacketizerCodec;
  readonly #video: boolean;
  readonly #maxWaitMs: number;

  readonly #slots: (Buffer | undefined)[] = new Array<Buffer | undefined>(capacity).fill(undefined);
  readonly #arrivals = new Float64Array(capacity);
  #stored = 0;

  #started = false;
  /** The first packet neither emitted nor discarded; the frame in progress starts here. */
  #nextSeq = 0;
  /** The first packet not yet walked: [#nextSeq, #scanSeq) are present and share #frameTs. */
  #scanSeq = 0;
  #highestSeq = 0;
  #frameTs = 0;
  /** While a packet far ahead waits for room, gaps before this sequence are given up at once. */
  #floor = -Infinity;

  /** The gap being waited on, and since when (the arrival of the first packet after it). */
  #gapAt = -1;
  #gapSince = 0;

  /** #nextSeq may sit inside a frame (start, loss): packets are discarded up to a frame start. */
  #resync: boolean;
  #needKeyframe: boolean;
  /** Whether output has begun: losses before the first keyframe cost the recording nothing. */
  #recording: boolean;
  /** After a loss, the timestamp of the frame being discarded, to count each lost frame once. */
  #dropping = false;
  #droppingTs: number | undefined;

  /** The last packet consumed (emitted or discarded), to tell a frame start from a continuation. */
  #prevSeq = -Infinity;
  #prevTs = 0;
  #prevMarker = false;

  #sps: Buffer | undefined;
  #pps: Buffer | undefined;
  #dropped = 0;

  /** One frame's pieces, reused from frame to frame: packet, byte range, and (H.264) chunk kind. */
  readonly #chunkPackets: Buffer[] = [];
  readonly #chunkFrom: number[] = [];
  readonly #chunkTo: number[] = [];
  readonly #chunkKinds: number[] = [];

  constructor(codec: DepacketizerCodec, options?: { maxWaitMs?: number }) {
    this.#codec = codec;
    this.#video = codec !== 'opus';
    this.#maxWaitMs = options?.maxWaitMs ?? 300;
    this.#resync = this.#video;
    this.#needKeyframe = this.#video;
    this.#recording = !this.#video;
  }

  /** Frames dropped because a packet never came (for a log line / metric); kept across reset(). */
  get droppedFrames(): number {
    return this.#dropped;
  }

  /** Forget everything (a new source: the publisher reconnected). */
  reset(): void {
    this.#slots.fill(undefined);
    this.#stored = 0;
    this.#started = false;
    this.#floor = -Infinity;
    this.#gapAt = -1;
    this.#resync = this.#video;
    this.#needKeyframe = this.#video;
    this.#recording = !this.#video;
    this.#dropping = false;
    this.#droppingTs = undefined;
    this.#prevSeq = -Infinity;
    this.#prevTs = 0;
    this.#prevMarker = false;
    // A new source may use other parameter sets; stale ones would make its keyframes undecodable.
    this.#sps = undefined;
    this.#pps = undefined;
  }

  /** One packet; returns the frames completed by it, in order (often none or one). `now` is ms. */
  push(packet: Buffer, now: number): EncodedFrame[] {
    const out: EncodedFrame[] = [];
    if (packet.length <= rtpHeaderLength || (packet[0] as number) >> 6 !== 2) return out;
    const seq16 = rtpSequence(packet);
    if (!this.#started) this.#start(seq16);
    // RFC 3550 A.1: the 16-bit number is taken as the nearest value to the newest one seen.
    let delta = (seq16 - this.#highestSeq) & 0xffff;
    if (delta >= 0x8000) delta -= 0x10000;
    if (delta > resetJump || delta < -resetJump) {
      this.reset();
      this.#start(seq16);
      delta = 0;
    }
    const seq = this.#highestSeq + delta;
    if (seq < this.#nextSeq) {
      // Once anything was consumed, an older packet belongs to a frame already emitted or given
      // up. Before that, it was only reordered ahead of the first packet seen and may be the very
      // start of the first frame: the walk starts over from it.
      if (this.#prevSeq !== -Infinity || seq <= this.#highestSeq - capacity) return out;
      this.#nextSeq = seq;
      this.#scanSeq = seq;
      this.#resync = this.#video;
    }
    if (seq >= this.#nextSeq + capacity) {
      // No room without losing what is held: move on as if the gaps before it had timed out.
      this.#floor = seq - capacity + 1;
      this.#drain(now, out);
      if (this.#nextSeq < this.#floor) this.#giveUp(this.#floor);
      this.#floor = -Infinity;
    } else if (this.#slots[seq & mask] !== undefined) {
      return out; // a duplicate: inside the window a slot can only hold this sequence number
    }
    const slot = seq & mask;
    this.#slots[slot] = packet;
    this.#arrivals[slot] = now;
    this.#stored += 1;
    if (seq > this.#highestSeq) this.#highestSeq = seq;
    this.#drain(now, out);
    return out;
  }

  #start(seq16: number): void {
    this.#started = true;
    this.#nextSeq = seq16;
    this.#scanSeq = seq16;
    this.#highestSeq = seq16;
  }

  /** Emits every frame that is complete, giving up on gaps that have waited long enough. */
  #drain(now: number, out: EncodedFrame[]): void {
    for (;;) {
      while (this.#scanSeq <= this.#highestSeq) {
        const seq = this.#scanSeq;
        const packet = this.#slots[seq & mask];
        if (packet === undefined) break;
        if (this.#resync) {
          // In resync the walk never runs ahead of #nextSeq: each packet is a start or discarded.
          if (!this.#startsFrame(packet)) {
            // At the very start the packets before this one may just be late: wait for them as
            // for a gap before discarding.
            if (
              this.#prevSeq === -Infinity &&
              now - (this.#arrivals[seq & mask] as number) <= this.#maxWaitMs &&
              this.#stored <= maxHeldBehindGap &&
              seq >= this.#floor
            )
              return;
            this.#discard(seq);
            this.#nextSeq = seq + 1;
            this.#scanSeq = seq + 1;
            continue;
          }
          this.#resync = false;
          this.#dropping = false;
        }
        const ts = rtpTimestamp(packet);
        if (seq === this.#nextSeq) {
          this.#frameTs = ts;
        } else if (ts !== this.#frameTs) {
          // The sequence is unbroken, so the previous frame is whole even though no marker said so.
          this.#finish(seq - 1, out);
          continue;
        }
        this.#scanSeq = seq + 1;
        if (!this.#video || rtpMarker(packet)) this.#finish(seq, out);
      }
      if (this.#scanSeq > this.#highestSeq) {
        this.#gapAt = -1;
        return;
      }
      const hole = this.#scanSeq;
      if (this.#gapAt !== hole) {
        // The gap has existed since the first packet behind it arrived, not since now: after a
        // give-up, the next gap may already have waited long enough.
        let behind = hole + 1;
        while (behind < this.#highestSeq && this.#slots[behind & mask] === undefined) behind += 1;
        this.#gapAt = hole;
        this.#gapSince = this.#arrivals[behind & mask] as number;
      }
      if (
        now - this.#gapSince <= this.#maxWaitMs &&
        this.#stored <= maxHeldBehindGap &&
        hole >= this.#floor
      )
        return;
      this.#giveUp(this.#highestSeq + 1);
    }
  }

  /**
   * Abandons the frame in progress and the missing packets after it, up to the next packet held
   * (or `limit`). Video then resynchronizes on a frame start and waits for a keyframe.
   */
  #giveUp(limit: number): void {
    const hole = this.#scanSeq;
    if (this.#video && !this.#dropping) {
      this.#dropping = true;
      // Unknown when the gap opens the frame: the first packet discarded after it names it.
      this.#droppingTs = hole > this.#nextSeq ? this.#frameTs : undefined;
      if (this.#recording) this.#dropped += 1;
    }
    for (let seq = this.#nextSeq; seq < hole; seq += 1) this.#discard(seq);
    let next = hole;
    if (this.#stored === 0) next = Math.max(hole, limit);
    else while (next < limit && this.#slots[next & mask] === undefined) next += 1;
    // Every Opus packet is a frame of its own (RFC 7587 §4.2): each one missing is one lost.
    if (!this.#video && this.#recording) this.#dropped += next - hole;
    this.#nextSeq = next;
    this.#scanSeq = next;
    this.#gapAt = -1;
    if (this.#video) {
      this.#resync = true;
      this.#needKeyframe = true;
    }
  }

  #discard(seq: number): void {
    const slot = seq & mask;
    const packet = this.#slots[slot];
    if (packet === undefined) return;
    const ts = rtpTimestamp(packet);
    if (this.#dropping) {
      if (this.#droppingTs === undefined) {
        this.#droppingTs = ts;
      } else if (ts !== this.#droppingTs) {
        this.#droppingTs = ts;
        if (this.#recording) this.#dropped += 1;
      }
    }
    this.#prevSeq = seq;
    this.#prevTs = ts;
    this.#prevMarker = rtpMarker(packet);
    this.#slots[slot] = undefined;
    this.#stored -= 1;
  }

  /**
   * Whether a packet, found where the previous frame is unknown or was lost, opens a new frame:
   * the codec says it starts one, and it is not the rest of a frame whose earlier packets were
   * consumed (same timestamp, no marker on the last of them).
   */
  #startsFrame(packet: Buffer): boolean {
    const opens =
      this.#codec === 'vp8'
        ? vp8StartsFrame(packet)
        : this.#codec === 'h264'
          ? h264StartsAccessUnit(packet, rtpHeaderLength)
          : true;
    if (!opens) return false;
    return this.#prevSeq === -Infinity || this.#prevMarker || this.#prevTs !== rtpTimestamp(packet);
  }

  /** Emits (or drops) the frame [#nextSeq, last] and frees its slots. */
  #finish(last: number, out: EncodedFrame[]): void {
    const first = this.#nextSeq;
    const frame =
      this.#codec === 'h264'
        ? this.#assembleH264(first, last)
        : this.#codec === 'vp8'
          ? this.#assembleVp8(first, last)
          : this.#assembleOpus(first);
    const lastPacket = this.#slots[last & mask] as Buffer;
    this.#prevSeq = last;
    this.#prevTs = rtpTimestamp(lastPacket);
    this.#prevMarker = rtpMarker(lastPacket);
    for (let seq = first; seq <= last; seq += 1) this.#slots[seq & mask] = undefined;
    this.#stored -= last - first + 1;
    this.#nextSeq = last + 1;
    this.#scanSeq = last + 1;

    if (frame === 'empty') return;
    if (frame === 'malformed') {
      if (this.#recording) this.#dropped += 1;
      this.#needKeyframe = true;
      return;
    }
    if (this.#needKeyframe) {
      if (!frame.keyframe) {
        if (this.#recording) this.#dropped += 1;
        return;
      }
      this.#needKeyframe = false;
      this.#recording = true;
    }
    out.push(frame);
  }

  #resetChunks(): void {
    // Holding on to the packets until the next frame would keep a whole frame's buffers alive.
    this.#chunkPackets.length = 0;
    this.#chunkFrom.length = 0;
    this.#chunkTo.length = 0;
    this.#chunkKinds.length = 0;
  }

  #addChunk(packet: Buffer, from: number, to: number, kind: number): void {
    this.#chunkPackets.push(packet);
    this.#chunkFrom.push(from);
    this.#chunkTo.push(to);
    this.#chunkKinds.push(kind);
  }

  #assembleOpus(seq: number): EncodedFrame {
    const packet = this.#slots[seq & mask] as Buffer;
    return {
      data: Buffer.from(packet.subarray(rtpHeaderLength)),
      rtpTimestamp: rtpTimestamp(packet),
      keyframe: true,
    };
  }

  /** RFC 7741 §4.2–4.3: the frame is the payloads after each packet's descriptor, in order. */
  #assembleVp8(first: number, last: number): EncodedFrame | 'malformed' {
    let keyframe = false;
    let size = 0;
    for (let seq = first; seq <= last; seq += 1) {
      const packet = this.#slots[seq & mask] as Buffer;
      const descriptor = readVp8(packet, rtpHeaderLength);
      if (descriptor === undefined) return this.#malformed();
      if (seq === first) {
        if (!descriptor.start || descriptor.partition !== 0) return this.#malformed();
        keyframe = descriptor.keyframe;
      }
      this.#addChunk(packet, descriptor.payloadAt, packet.length, 0);
      size += packet.length - descriptor.payloadAt;
    }
    const data = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < this.#chunkPackets.length; i += 1) {
      const packet = this.#chunkPackets[i] as Buffer;
      at += packet.copy(data, at, this.#chunkFrom[i], this.#chunkTo[i]);
    }
    const firstPacket = this.#slots[first & mask] as Buffer;
    this.#resetChunks();
    return { data, rtpTimestamp: rtpTimestamp(firstPacket), keyframe };
  }

  #malformed(): 'malformed' {
    this.#resetChunks();
    return 'malformed';
  }

  /**
   * RFC 6184 packetization-mode 1: single NAL unit packets (§5.6), STAP-A (§5.7.1) and FU-A
   * (§5.8) into one access unit with 4-byte start codes. 'empty' when it holds no picture (only
   * parameter sets or SEI): those are remembered for the next keyframe instead.
   */
  #assembleH264(first: number, last: number): EncodedFrame | 'malformed' | 'empty' {
    let idr = false;
    let picture = false;
    let hasSps = false;
    let hasPps = false;
    /** NAL type of the FU-A run in progress, -1 outside one. */
    let fuType = -1;
    let fuFirstChunk = 0;
    let fuSkipped = false;
    for (let seq = first; seq <= last; seq += 1) {
      const packet = this.#slots[seq & mask] as Buffer;
      const at = rtpHeaderLength;
      const type = (packet[at] as number) & 0x1f;
      if (type === nal.fuA) {
        if (packet.length < at + 3) return this.#malformed();
        const fu = packet[at + 1] as number;
        const fuNalType = fu & 0x1f;
        if (fu & 0x80) {
          if (fuType >= 0) return this.#malformed();
          fuType = fuNalType;
          fuFirstChunk = this.#chunkPackets.length;
          fuSkipped = fuNalType === nal.aud;
          if (!fuSkipped) {
            // §5.8: the NAL header is not carried; F and NRI come from the FU indicator.
            const header = ((packet[at] as number) & 0xe0) | fuNalType;
            this.#addChunk(packet, at + 2, packet.length, header);
          }
        } else {
          // A run whose start fragment is missing cannot be rebuilt (§5.8).
          if (fuType !== fuNalType) return this.#malformed();
          if (!fuSkipped) this.#addChunk(packet, at + 2, packet.length, fuContinuation);
        }
        if (fu & 0x40) {
          if (!fuSkipped) {
            if (fuType === nal.sps || fuType === nal.pps) this.#rememberFragmented(fuFirstChunk);
            idr ||= fuType === nal.idr;
            picture ||= fuType >= 1 && fuType <= 5;
            hasSps ||= fuType === nal.sps;
            hasPps ||= fuType === nal.pps;
          }
          fuType = -1;
        }
        continue;
      }
      // Anything else between the fragments of one NAL unit breaks it.
      if (fuType >= 0) return this.#malformed();
      if (type >= 1 && type <= 23) {
        const t = this.#addNal(packet, at, packet.length);
        idr ||= t === nal.idr;
        picture ||= t >= 1 && t <= 5;
        hasSps ||= t === nal.sps;
        hasPps ||= t === nal.pps;
      } else if (type === nal.stapA) {
        // §5.7.1: after the STAP-A header, NAL units each preceded by a 16-bit size.
        let i = at + 1;
        while (i < packet.length) {
          if (i + 2 > packet.length) return this.#malformed();
          const size = packet.readUInt16BE(i);
          const end = i + 2 + size;
          if (size === 0 || end > packet.length) return this.#malformed();
          const t = this.#addNal(packet, i + 2, end);
          idr ||= t === nal.idr;
          picture ||= t >= 1 && t <= 5;
          hasSps ||= t === nal.sps;
          hasPps ||= t === nal.pps;
          i = end;
        }
      }
      // STAP-B, MTAP16/24 and FU-B belong to interleaved mode (2), types 0, 30 and 31 to no
      // packetization mode we negotiate: skipped.
    }
    if (fuType >= 0) return this.#malformed();
    if (!picture) {
      this.#resetChunks();
      return 'empty';
    }

    // A recorder's muxer builds its decoder configuration from a keyframe: every keyframe gets
    // the parameter sets in front, the same SPS again if it carried one but not the PPS.
    const sps = this.#sps;
    const pps = this.#pps;
    const prepend = idr && (!hasSps || !hasPps) && sps !== undefined && pps !== undefined;
    let size = prepend ? 8 + sps.length + pps.length : 0;
    const count = this.#chunkPackets.length;
    for (let i = 0; i < count; i += 1) {
      const kind = this.#chunkKinds[i] as number;
      size += (this.#chunkTo[i] as number) - (this.#chunkFrom[i] as number);
      if (kind !== fuContinuation) size += kind === wholeNal ? 4 : 5;
    }
    const data = Buffer.allocUnsafe(size);
    let o = 0;
    if (prepend) {
      o = data.writeUInt32BE(1, o);
      o += sps.copy(data, o);
      o = data.writeUInt32BE(1, o);
      o += pps.copy(data, o);
    }
    for (let i = 0; i < count; i += 1) {
      const kind = this.#chunkKinds[i] as number;
      if (kind !== fuContinuation) {
        o = data.writeUInt32BE(1, o);
        if (kind !== wholeNal) data[o++] = kind;
      }
      o += (this.#chunkPackets[i] as Buffer).copy(data, o, this.#chunkFrom[i], this.#chunkTo[i]);
    }
    const firstPacket = this.#slots[first & mask] as Buffer;
    this.#resetChunks();
    // An IDR with no parameter sets known cannot start a recording: no decoder configuration.
    const decodable = sps !== undefined && pps !== undefined;
    return { data, rtpTimestamp: rtpTimestamp(firstPacket), keyframe: idr && decodable };
  }

  /** Adds one whole NAL unit (dropping access unit delimiters) and returns its type. */
  #addNal(packet: Buffer, from: number, to: number): number {
    const type = (packet[from] as number) & 0x1f;
    // An AUD must be the first NAL unit of its access unit (H.264 §7.4.1.2.3), which the
    // parameter sets put in front of a keyframe would break; the muxer frames units itself.
    if (type === nal.aud) return type;
    // Copied: a subarray would keep the whole packet alive for as long as the track lasts.
    if (type === nal.sps) this.#sps = Buffer.from(packet.subarray(from, to));
    else if (type === nal.pps) this.#pps = Buffer.from(packet.subarray(from, to));
    this.#addChunk(packet, from, to, wholeNal);
    return type;
  }

  /** Remembers an SPS or PPS that came in FU-A fragments, chunks from `firstChunk` on. */
  #rememberFragmented(firstChunk: number): void {
    const header = this.#chunkKinds[firstChunk] as number;
    const parts: Buffer[] = [Buffer.from([header])];
    for (let i = firstChunk; i < this.#chunkPackets.length; i += 1) {
      parts.push((this.#chunkPackets[i] as Buffer).subarray(this.#chunkFrom[i], this.#chunkTo[i]));
    }
    const unit = Buffer.concat(parts);
    if ((header & 0x1f) === nal.sps) this.#sps = unit;
    else this.#pps = unit;
  }
}

/** RFC 7741 §4.2: S=1 with partition index 0 is the first packet of a frame. */
function vp8StartsFrame(packet: Buffer): boolean {
  const descriptor = readVp8(packet, rtpHeaderLength);
  return descriptor !== undefined && descriptor.start && descriptor.partition === 0;
}

/**
 * Whether the payload at `at` opens an access unit (H.264 §7.4.1.2.3): an AUD, SPS, PPS, SEI or
 * NAL type 14–18, or the first slice of a picture (first_mb_in_slice 0, whose ue(v) code is a
 * single 1 bit). A later slice of a picture whose first slice was lost would otherwise pass for a
 * frame start when it comes as its own single NAL unit or FU-A start.
 */
function h264StartsAccessUnit(packet: Buffer, at: number): boolean {
  if (packet.length < at + 2) return false;
  let type = (packet[at] as number) & 0x1f;
  let body = at + 1;
  if (type === nal.stapA) {
    // §5.7.1: the first aggregated unit, after the 16-bit size.
    if (packet.length < at + 4) return false;
    type = (packet[at + 3] as number) & 0x1f;
    body = at + 4;
  } else if (type === nal.fuA) {
    const fu = packet[at + 1] as number;
    if (!(fu & 0x80)) return false;
    type = fu & 0x1f;
    body = at + 2;
  } else if (type === 0 || type > 23) {
    return false;
  }
  if (type === nal.sei || type === nal.sps || type === nal.pps || type === nal.aud) return true;
  if (type >= 14 && type <= 18) return true;
  if (type === 1 || type === 2 || type === nal.idr) return ((packet[body] ?? 0) & 0x80) !== 0;
  return false;
}
