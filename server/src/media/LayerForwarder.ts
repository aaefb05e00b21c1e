import type { RtpForwarder } from './RtpForwarder';
import { readVp8, writeVp8PictureId, writeVp8Tl0PicIdx, type Vp8Descriptor } from './vp8';

/** Picture ids remembered for retransmissions, by output sequence number (a power of two). */
const pictureMemory = 1024;

/** One video packet of a stream as the router hands it to each viewer. */
export interface VideoPacket {
  /** The shared buffer holding the packet (header and payload), patched per viewer. */
  out: Buffer;
  /** Which simulcast stream it belongs to. */
  encoding: number;
  sequence: number;
  timestamp: number;
  /** The first packet of a keyframe. */
  keyframe: boolean;
  /** VP8's payload descriptor (RFC 7741 §4.2); undefined for H.264. */
  vp8: Vp8Descriptor | undefined;
}

/**
 * One viewer's video: which of the publisher's simulcast streams it is sent and which temporal
 * layers of it, switched so that the viewer's decoder sees one continuous stream. A switch
 * waits for a keyframe of the stream switched to; from it on, sequence numbers, timestamps and
 * SSRC (the forwarder) and VP8's picture ids and TL0PICIDX (here) continue where the previous
 * stream left off. Temporal layers above the cap are dropped a whole picture at a time, and the
 * pictures that follow move up, as if the dropped ones never existed (RFC 7741 §4.2: the
 * picture id only says that pictures were lost, and TL0PICIDX is untouched by dropping them).
 */
export class LayerForwarder {
  /** The stream sent now (-1: none yet), and the one to switch to at its next keyframe. */
  current = -1;
  target = 0;
  /** The highest temporal layer wanted, and the one applied (changed at picture starts only). */
  private temporalCap = 2;
  private temporal = 2;
  /** Whether the picture being forwarded now is sent (decided at its first packet). */
  private sendingPicture = true;
  private pictureIdOffset = 0;
  private tl0Offset = 0;
  private lastPictureId = -1;
  private lastTl0 = -1;
  private rebaseVp8 = true;
  /** When the viewer asked for a switch that has not happened yet. */
  switchAskedAt = 0;
  /** The picture id and TL0PICIDX each recent packet was sent with, and for which sequence number. */
  private readonly sentPicture = new Int32Array(pictureMemory).fill(-1);
  private readonly sentPictureAs = new Int32Array(pictureMemory).fill(-1);

  constructor(readonly rtp: RtpForwarder) {}

  /** The stream and temporal layers this viewer should get; returns whether a keyframe is needed. */
  aim(encoding: number, temporal: number, now: number): boolean {
    this.temporalCap = temporal;
    if (encoding === this.target) return false;
    this.target = encoding;
    if (encoding === this.current) return false;
    this.switchAskedAt = now;
    return true;
  }

  get switching(): boolean {
    return this.target !== this.current;
  }

  /** A publisher came back: every number continues from where it is. */
  sourceChanged(): void {
    this.rtp.sourceChanged();
    this.rebaseVp8 = true;
    this.current = -1;
  }

  /** Forwards the packet if it is this viewer's; returns whether it was sent. */
  send(p: VideoPacket, now: number): boolean {
    if (p.encoding !== this.current) {
      if (p.encoding !== this.target || !p.keyframe) return false;
      if (this.current !== -1) {
        this.rtp.sourceChanged();
        this.rebaseVp8 = true;
      }
      this.current = p.encoding;
      this.switchAskedAt = 0;
    }
    const vp8 = p.vp8;
    if (vp8) {
      if (vp8.start && vp8.partition === 0) this.startPicture(vp8);
      if (!this.sendingPicture) {
        this.rtp.skip();
        return false;
      }
      this.rewriteVp8(p.out, vp8);
    }
    const sequence = this.rtp.send(p.out, p.sequence, p.timestamp, now, p.encoding);
    if (vp8) {
      const slot = sequence & (pictureMemory - 1);
      this.sentPicture[slot] = ((this.lastPictureId & 0x7fff) << 8) | (this.lastTl0 & 0xff);
      this.sentPictureAs[slot] = sequence;
    }
    return true;
  }

  /**
   * Sends a packet again as the viewer first got it: its sequence number, and for VP8 the
   * picture id and TL0PICIDX it was rewritten to (a retransmission that named another picture
   * would break the frame it belongs to).
   */
  resend(out: Buffer, outputSequence: number, timestamp: number): void {
    const slot = outputSequence & (pictureMemory - 1);
    const vp8 = this.sentPictureAs[slot] === outputSequence ? readVp8(out, 12) : undefined;
    const picture = this.sentPicture[slot] ?? -1;
    if (vp8 && picture >= 0) {
      writeVp8PictureId(out, vp8, picture >> 8);
      writeVp8Tl0PicIdx(out, vp8, picture & 0xff);
    }
    this.rtp.resend(out, outputSequence, timestamp);
  }

  /**
   * Whether the picture starting now is sent. A lower cap applies at once; a higher one at a
   * base-layer picture or a layer sync (Y bit), which depend on nothing that was dropped.
   */
  private startPicture(vp8: Vp8Descriptor): void {
    const tid = vp8.temporalId;
    if (tid === undefined) {
      this.sendingPicture = true;
      return;
    }
    if (this.temporalCap < this.temporal) this.temporal = this.temporalCap;
    else if (this.temporalCap > this.temporal && (tid === 0 || vp8.layerSync))
      this.temporal = this.temporalCap;
    this.sendingPicture = tid <= this.temporal || vp8.keyframe;
    if (!this.sendingPicture && vp8.pictureId !== undefined) this.pictureIdOffset -= 1;
  }

  private rewriteVp8(out: Buffer, vp8: Vp8Descriptor): void {
    if (vp8.pictureId !== undefined) {
      const mask = vp8.pictureIdLong ? 0x7fff : 0x7f;
      if (this.rebaseVp8)
        this.pictureIdOffset = this.lastPictureId < 0 ? 0 : this.lastPictureId + 1 - vp8.pictureId;
      const pictureId = (vp8.pictureId + this.pictureIdOffset) & mask;
      writeVp8PictureId(out, vp8, pictureId);
      this.lastPictureId = pictureId;
    }
    if (vp8.tl0PicIdx !== undefined) {
      if (this.rebaseVp8) this.tl0Offset = this.lastTl0 < 0 ? 0 : this.lastTl0 + 1 - vp8.tl0PicIdx;
      const tl0 = (vp8.tl0PicIdx + this.tl0Offset) & 0xff;
      writeVp8Tl0PicIdx(out, vp8, tl0);
      this.lastTl0 = tl0;
    }
    this.rebaseVp8 = false;
  }
}
