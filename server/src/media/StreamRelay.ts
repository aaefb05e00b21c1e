import type { Socket } from 'node:dgram';
import type { MediaKind } from './codecs';
import type { ClockMapping } from './rtp';
import type { RouterRelay } from './StreamRouter';

/** First byte of a relay datagram; a 4-byte channel (the stream) follows, then the body. */
export const relayType = {
  audio: 0,
  video: 1,
  videoKeyframe: 2,
  senderReportAudio: 3,
  senderReportVideo: 4,
  keyframeRequest: 5,
} as const;

export const relayHeaderLength = 5;

/**
 * A stream's link between workers over 127.0.0.1: on the worker holding the publisher it sends
 * every packet and sender report to the workers holding viewers; on those it sends keyframe
 * requests back. Loopback UDP, so loss is not expected; a lost packet is NACKed by the viewer
 * and answered from the receiving worker's history like any other.
 */
export class StreamRelay implements RouterRelay {
  readonly targets = new Set<number>();
  originPort: number | undefined;

  constructor(
    private readonly socket: Socket,
    readonly channel: number,
  ) {}

  forward(kind: MediaKind, packet: Buffer, keyframe: boolean): void {
    if (this.targets.size === 0) return;
    const type =
      kind === 'audio' ? relayType.audio : keyframe ? relayType.videoKeyframe : relayType.video;
    this.send(type, packet, this.targets);
  }

  senderReport(kind: MediaKind, mapping: ClockMapping): void {
    if (this.targets.size === 0) return;
    const body = Buffer.allocUnsafe(12);
    body.writeUInt32BE(mapping.ntpSeconds, 0);
    body.writeUInt32BE(mapping.ntpFraction, 4);
    body.writeUInt32BE(mapping.rtpTimestamp, 8);
    const type = kind === 'audio' ? relayType.senderReportAudio : relayType.senderReportVideo;
    this.send(type, body, this.targets);
  }

  requestKeyframe(): void {
    if (this.originPort !== undefined)
      this.send(relayType.keyframeRequest, Buffer.alloc(0), [this.originPort]);
  }

  /** Sends the group of pictures the origin holds to a worker that just started relaying. */
  prime(port: number, packets: readonly Buffer[]): void {
    packets.forEach((packet, i) =>
      this.send(i === 0 ? relayType.videoKeyframe : relayType.video, packet, [port]),
    );
  }

  private send(type: number, body: Buffer, ports: Iterable<number>): void {
    const datagram = Buffer.allocUnsafe(relayHeaderLength + body.length);
    datagram[0] = type;
    datagram.writeUInt32BE(this.channel, 1);
    body.copy(datagram, relayHeaderLength);
    for (const port of ports) this.socket.send(datagram, port, '127.0.0.1');
  }
}
