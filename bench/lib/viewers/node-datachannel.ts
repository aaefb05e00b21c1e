/**
 * A cheap WHEP viewer for load generators: one node-datachannel (libdatachannel) PeerConnection
 * with receive-only Opus and VP8, non-trickle (the offer is posted once gathering is complete).
 * libdatachannel decrypts on its own threads; JS only sees each packet's bytes to count it.
 *
 * node-datachannel must only ever be loaded in one JS isolate per process (never in
 * worker_threads), every PeerConnection and Track must stay referenced while in use (their
 * callbacks die with the JS wrapper), and processes using it should leave with process.exit.
 */
import { Audio, PeerConnection, Video, type Track } from 'node-datachannel';
import { RtpCounter } from '../rtp-count';
import {
  deleteWhep,
  postWhep,
  type CountingViewer,
  type ViewerCounts,
  type WhepTarget,
} from './types';

let created = 0;

export class NodeDataChannelViewer implements CountingViewer {
  readonly pc: PeerConnection;
  /** Held for the viewer's lifetime: a collected Track stops delivering packets. */
  readonly tracks: Track[] = [];
  private readonly counter = new RtpCounter();
  private resource = '';
  private closed = false;

  constructor(private readonly target: WhepTarget) {
    created += 1;
    this.pc = new PeerConnection(`viewer-${process.pid}-${created}`, {
      iceServers: [],
      bindAddress: '127.0.0.1',
    });
  }

  async join(timeoutMs = 10_000): Promise<void> {
    const audio = new Audio('0', 'RecvOnly');
    audio.addOpusCodec(111);
    const video = new Video('1', 'RecvOnly');
    video.addVP8Codec(96);
    for (const media of [audio, video]) {
      const track = this.pc.addTrack(media);
      track.onMessage((packet) => this.counter.addRaw(packet));
      this.tracks.push(track);
    }
    const gathered = this.until('gathering', (s) => s === 'complete', 5000);
    this.pc.setLocalDescription();
    await gathered;
    const offer = this.pc.localDescription()?.sdp;
    if (!offer) throw new Error('no local description');
    const connected = this.until('state', (s) => s === 'connected', timeoutMs);
    connected.catch(() => undefined);
    const { answer, resource } = await postWhep(this.target, offer);
    this.resource = resource;
    this.pc.setRemoteDescription(answer, 'answer');
    await connected;
  }

  /** Waits for a gathering or connection state; fails on `failed`/`closed` or after `ms`. */
  private until(
    what: 'gathering' | 'state',
    done: (state: string) => boolean,
    ms: number,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} not reached within ${ms} ms`)), ms);
      const check = (state: string) => {
        if (done(state)) {
          clearTimeout(timer);
          resolve();
        } else if (what === 'state' && (state === 'failed' || state === 'closed')) {
          clearTimeout(timer);
          reject(new Error(`connection ${state}`));
        }
      };
      if (what === 'gathering') this.pc.onGatheringStateChange(check);
      else this.pc.onStateChange(check);
    });
  }

  take(): ViewerCounts {
    return this.counter.take();
  }

  async close(withDelete = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (withDelete) await deleteWhep(this.target, this.resource);
    } finally {
      for (const track of this.tracks) track.close();
      this.pc.close();
    }
  }
}
