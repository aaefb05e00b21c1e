import { rtpTimestamp } from './rtp';

/**
 * The video packets since the last keyframe, so a viewer who joins mid-stream can decode at once
 * instead of waiting for the publisher's next keyframe (which a fixed-GOP encoder like OBS's may
 * not make on request).
 */
export class GopCache {
  private packets: Buffer[] = [];
  private valid = false;

  /** @param maxPackets beyond this the group is too long to replay; wait for the next keyframe. */
  constructor(private readonly maxPackets = 600) {}

  push(packet: Buffer, isKeyframeStart: boolean): void {
    if (isKeyframeStart) {
      // A keyframe spans several packets sharing one timestamp; only its first resets the group.
      const first = this.packets[0];
      if (!this.valid || !first || rtpTimestamp(first) !== rtpTimestamp(packet)) {
        this.packets = [];
        this.valid = true;
      }
    }
    if (!this.valid) return;
    if (this.packets.length >= this.maxPackets) {
      this.clear();
      return;
    }
    this.packets.push(packet);
  }

  /** The group from its keyframe on, or nothing when none is held. */
  snapshot(): readonly Buffer[] {
    return this.valid ? this.packets : [];
  }

  clear(): void {
    this.packets = [];
    this.valid = false;
  }
}
