import {
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedVideoPacketSource,
  Mp4OutputFormat,
  NullTarget,
  Output,
} from 'mediabunny';

/** The picture a video track starts with: what its decoder configuration says. */
export interface VideoTrackConfig {
  codec: 'avc' | 'vp8';
  /** The WebCodecs codec string (`avc1.42e01f`, `vp8`). */
  codecString: string;
  width: number;
  height: number;
}

/** Where the muxer's output goes: the initialization segment once, then each media segment. */
export interface SegmentSink {
  init(data: Buffer): void;
  /** One fragment (`moof` + `mdat`) starting at `start` seconds of media time. */
  segment(data: Buffer, start: number): void;
}

/**
 * The Opus identification header (RFC 7845 §5.1) that an MP4 `dOps` box is built from: WebRTC
 * signals Opus as two channels at 48 kHz (RFC 7587 §7), whatever the encoder sends.
 */
function opusHead(): Uint8Array {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head[8] = 1; // version
  head[9] = 2; // channels
  head.writeUInt16LE(0, 10); // pre-skip: RTP Opus carries none
  head.writeUInt32LE(48_000, 12);
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // channel mapping family 0 (mono or stereo)
  return head;
}

/**
 * One fragmented MP4 (CMAF) output from already-encoded frames, cut into an initialization
 * segment and media segments as mediabunny writes them. A fragment starts at a video keyframe
 * once the current one is `fragmentSeconds` long, and is handed on once the next one starts.
 * Timestamps are seconds of media time and must rise strictly within each track.
 */
export class SegmentMuxer {
  private readonly output: Output;
  private readonly video: EncodedVideoPacketSource | undefined;
  private readonly audio: EncodedAudioPacketSource | undefined;
  private header: Buffer[] = [];
  private moof: { data: Buffer; start: number } | undefined;
  private videoConfigured = false;
  private audioConfigured = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly tracks: { video?: VideoTrackConfig | undefined; audio: boolean },
    private readonly sink: SegmentSink,
    fragmentSeconds = 1,
  ) {
    this.output = new Output({
      format: new Mp4OutputFormat({
        fastStart: 'fragmented',
        minimumFragmentDuration: fragmentSeconds,
        onFtyp: (data) => {
          this.header = [Buffer.from(data)];
        },
        onMoov: (data) => {
          this.header.push(Buffer.from(data));
          this.sink.init(Buffer.concat(this.header));
          this.header = [];
        },
        onMoof: (data, _position, timestamp) => {
          this.moof = { data: Buffer.from(data), start: timestamp };
        },
        onMdat: (data) => {
          const moof = this.moof;
          this.moof = undefined;
          if (moof) this.sink.segment(Buffer.concat([moof.data, data]), moof.start);
        },
      }),
      target: new NullTarget(),
    });
    if (tracks.video) {
      this.video = new EncodedVideoPacketSource(tracks.video.codec);
      this.output.addVideoTrack(this.video, { frameRate: 30 });
    }
    if (tracks.audio) {
      this.audio = new EncodedAudioPacketSource('opus');
      this.output.addAudioTrack(this.audio);
    }
  }

  get hasVideo(): boolean {
    return this.video !== undefined;
  }

  /** Adds one video frame (H.264 in Annex B, or VP8); the first must be a keyframe. */
  async addVideo(data: Buffer, start: number, duration: number, keyframe: boolean): Promise<void> {
    const config = this.tracks.video;
    if (!this.video || !config) return;
    await (this.started ??= this.output.start());
    const packet = new EncodedPacket(data, keyframe ? 'key' : 'delta', start, duration);
    if (this.videoConfigured) return this.video.add(packet);
    this.videoConfigured = true;
    return this.video.add(packet, {
      decoderConfig: {
        codec: config.codecString,
        codedWidth: config.width,
        codedHeight: config.height,
      },
    });
  }

  async addAudio(data: Buffer, start: number, duration: number): Promise<void> {
    if (!this.audio) return;
    await (this.started ??= this.output.start());
    const packet = new EncodedPacket(data, 'key', start, duration);
    if (this.audioConfigured) return this.audio.add(packet);
    this.audioConfigured = true;
    return this.audio.add(packet, {
      decoderConfig: {
        codec: 'opus',
        numberOfChannels: 2,
        sampleRate: 48_000,
        description: opusHead(),
      },
    });
  }

  /** Writes the last fragment. Nothing is written when no frame ever came. */
  async finish(): Promise<void> {
    if (!this.started) return;
    await this.started;
    await this.output.finalize();
  }

  /** Drops what is not yet written (an error stopped the recording). */
  async cancel(): Promise<void> {
    if (this.output.state === 'started' || this.output.state === 'pending')
      await this.output.cancel();
  }
}
