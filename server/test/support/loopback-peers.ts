import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  type RTCRtpTransceiver,
} from 'werift';
import { replay } from './rtp-fixture';

/** werift on loopback only, with no public STUN lookup (see the media engine's peer config). */
export const loopbackPeerConfig = {
  iceServers: [{ urls: 'stun:127.0.0.1:9' }],
  iceStunGatherTimeout: 0,
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
};

export const connected = (pc: RTCPeerConnection, ms = 10_000): Promise<void> =>
  new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    const timer = setTimeout(() => reject(new Error(`not connected within ${ms} ms`)), ms);
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        clearTimeout(timer);
        resolve();
      }
    });
  });

/**
 * A publisher that sends VP8-shaped packets (a keyframe every second) and Opus-sized audio at
 * real rates, each payload stamped with its index so receivers can check what they got.
 */
/** A loopback peer that offers (a WHIP publisher, a WHEP viewer) and takes the server's answer. */
class LoopbackOfferer {
  readonly pc = new RTCPeerConnection(loopbackPeerConfig);

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async accept(answer: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await connected(this.pc);
  }
}

export class SyntheticPublisher extends LoopbackOfferer {
  private readonly video = new MediaStreamTrack({ kind: 'video' });
  private readonly audio = new MediaStreamTrack({ kind: 'audio' });
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private videoSeq = 1000;
  private audioSeq = 5000;
  videoTransceiver: RTCRtpTransceiver;

  constructor() {
    super();
    this.pc.addTransceiver(this.audio, { direction: 'sendonly' });
    this.videoTransceiver = this.pc.addTransceiver(this.video, { direction: 'sendonly' });
  }

  /** 30 frames/s of 3 packets each, 50 audio packets/s. */
  start(): void {
    this.timer = setInterval(() => {
      for (let i = 0; i < 2; i += 1) this.sendAudio();
      if (this.frame % 3 !== 2) this.sendFrame();
      this.frame += 1;
    }, 33);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async close(): Promise<void> {
    this.stop();
    await this.pc.close();
  }

  private sendFrame(): void {
    const keyframe = this.frame % 30 === 0;
    const timestamp = this.frame * 3000;
    for (let part = 0; part < 3; part += 1) {
      const payload = Buffer.alloc(1000, this.videoSeq & 0xff);
      payload[0] = part === 0 ? 0x10 : 0x00; // VP8 descriptor: S bit on a frame's first packet
      payload[1] = keyframe ? 0x00 : 0x01; // P bit clear: keyframe
      payload.writeUInt32BE(this.videoSeq, 4);
      const header = new RtpHeader({
        sequenceNumber: this.videoSeq & 0xffff,
        timestamp,
        payloadType: 96,
        marker: part === 2,
      });
      this.video.writeRtp(new RtpPacket(header, payload));
      this.videoSeq += 1;
    }
  }

  private sendAudio(): void {
    const payload = Buffer.alloc(120, 7);
    payload.writeUInt32BE(this.audioSeq, 0);
    const header = new RtpHeader({
      sequenceNumber: this.audioSeq & 0xffff,
      timestamp: this.audioSeq * 960,
      payloadType: 111,
    });
    this.audio.writeRtp(new RtpPacket(header, payload));
    this.audioSeq += 1;
  }
}

/** A receive-only peer that records the sequence numbers it gets, per kind. */
export class RecordingViewer {
  readonly pc = new RTCPeerConnection(loopbackPeerConfig);
  readonly sequences: Record<'audio' | 'video', number[]> = { audio: [], video: [] };
  readonly payloadIndexes: number[] = [];
  /** Which kind each SSRC the viewer received carries. */
  readonly kindOf = new Map<number, 'audio' | 'video'>();

  constructor() {
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet) => {
        const kind = track.kind as 'audio' | 'video';
        this.kindOf.set(packet.header.ssrc, kind);
        this.sequences[kind].push(packet.header.sequenceNumber);
        if (kind === 'video') this.payloadIndexes.push(packet.payload.readUInt32BE(4));
      });
    });
  }

  /** Server-offered flow (the web app's signalling). */
  async answer(offer: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    return this.pc.localDescription!.sdp;
  }

  /** Viewer-offered flow (WHEP). */
  async offer(): Promise<string> {
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  received(kind: 'audio' | 'video'): number {
    return this.sequences[kind].length;
  }

  close(): Promise<void> {
    return this.pc.close();
  }
}

export const waitFor = async (
  check: () => boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A publisher that replays the recorded VP8 + Opus fixture at its original timing. */
export class FixturePublisher extends LoopbackOfferer {
  private readonly tracks = {
    audio: new MediaStreamTrack({ kind: 'audio' }),
    video: new MediaStreamTrack({ kind: 'video' }),
  };
  private stopReplay: (() => void) | undefined;
  readonly sent = { audio: 0, video: 0 };
  /** Send time (ms, performance.now) of each packet, by kind and payload fingerprint. */
  readonly sentAt = new Map<string, number>();
  keyframeRequests = 0;
  recordSendTimes = false;

  constructor() {
    super();
    this.pc.addTransceiver(this.tracks.audio, { direction: 'sendonly' });
    const video = this.pc.addTransceiver(this.tracks.video, { direction: 'sendonly' });
    video.sender.onPictureLossIndication.subscribe(() => {
      this.keyframeRequests += 1;
    });
  }

  start(): void {
    this.stopReplay = replay(
      (kind, packet) => {
        this.sent[kind] += 1;
        if (this.recordSendTimes)
          this.sentAt.set(fingerprint(kind, packet.payload), performance.now());
        this.tracks[kind].writeRtp(packet);
      },
      { loop: true },
    );
  }

  stop(): void {
    this.stopReplay?.();
  }

  async close(): Promise<void> {
    this.stop();
    await this.pc.close();
  }
}

/** Identifies a packet by its payload, which the server forwards untouched. */
export const fingerprint = (kind: string, payload: Buffer): string =>
  `${kind}:${payload.length}:${payload.subarray(0, 24).toString('base64')}`;

/**
 * A simulcast publisher as the server receives one: the same fixture replay, written to
 * `layers` sendonly video sections of one codec (lowest first) beside one audio section. Every
 * section carries the same pictures at the same bit rate; to the server each is a layer.
 */
export class SimulcastFixturePublisher extends LoopbackOfferer {
  private readonly audio = new MediaStreamTrack({ kind: 'audio' });
  private readonly videos: MediaStreamTrack[] = [];
  private stopReplay: (() => void) | undefined;
  /** Packets written: audio, and video per layer. */
  readonly sent: { audio: number; video: number[] };
  /** Send time (ms, performance.now) of each packet, by kind and payload fingerprint. */
  readonly sentAt = new Map<string, number>();
  /** Keyframe requests (PLI) received, per layer. */
  readonly keyframeRequests: number[];
  recordSendTimes = false;

  constructor(readonly layers = 3) {
    super();
    this.pc.addTransceiver(this.audio, { direction: 'sendonly' });
    this.sent = { audio: 0, video: Array.from({ length: layers }, () => 0) };
    this.keyframeRequests = Array.from({ length: layers }, () => 0);
    for (let layer = 0; layer < layers; layer += 1) {
      const track = new MediaStreamTrack({ kind: 'video' });
      this.videos.push(track);
      const video = this.pc.addTransceiver(track, { direction: 'sendonly' });
      video.sender.onPictureLossIndication.subscribe(() => {
        this.keyframeRequests[layer] = (this.keyframeRequests[layer] ?? 0) + 1;
      });
    }
  }

  start(): void {
    this.stopReplay = replay(
      (kind, packet) => {
        // All copies of a packet share a payload: one send time serves them all.
        if (this.recordSendTimes)
          this.sentAt.set(fingerprint(kind, packet.payload), performance.now());
        if (kind === 'audio') {
          this.sent.audio += 1;
          this.audio.writeRtp(packet);
          return;
        }
        // Each sender stamps its own SSRC into the header: every layer gets its own copy,
        // taken before any sender touched it.
        const copies = this.videos.map((_, layer) => (layer === 0 ? packet : packet.clone()));
        this.videos.forEach((track, layer) => {
          this.sent.video[layer] = (this.sent.video[layer] ?? 0) + 1;
          track.writeRtp(copies[layer]!);
        });
      },
      { loop: true },
    );
  }

  stop(): void {
    this.stopReplay?.();
  }

  async close(): Promise<void> {
    this.stop();
    await this.pc.close();
  }
}
