/**
 * A load-generator process for the soak: receive-only node-datachannel viewers that watch over
 * WHEP and count what they receive. node-datachannel allows one JS isolate per process, so more
 * viewers means more of these processes, never worker threads. Steered by the soak over IPC.
 */
import { Audio, PeerConnection, Video, type Track } from 'node-datachannel';

export type ViewerCommand =
  | { type: 'start'; baseUrl: string; streamId: string; tokens: string[] }
  | { type: 'stats' }
  | { type: 'churn'; count: number }
  | { type: 'close' };

export interface ViewerStats {
  type: 'stats';
  viewers: number;
  connected: number;
  /** RTP packets received since the process started. */
  packets: number;
  bytes: number;
  joins: number;
  leaves: number;
  /** Sessions that failed to set up and were tried again. */
  retries: number;
  failures: number;
}

const totals = { packets: 0, bytes: 0, joins: 0, leaves: 0, retries: 0, failures: 0 };
let target = { baseUrl: '', streamId: '' };

/** One viewer: a peer connection and its two tracks, all kept referenced while it lives. */
class Viewer {
  pc: PeerConnection | undefined;
  tracks: Track[] = [];
  location = '';
  state = 'new';

  constructor(
    readonly name: string,
    readonly token: string,
  ) {}

  async join(): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.negotiate();
        totals.joins += 1;
        return;
      } catch (error) {
        await this.leave(false);
        // Rarely libdatachannel fails a setup under load ("Got a remote candidate without ICE
        // transport"): that session is lost, a new one works.
        if (attempt >= 3) {
          totals.failures += 1;
          throw error;
        }
        totals.retries += 1;
      }
    }
  }

  private async negotiate(): Promise<void> {
    const pc = new PeerConnection(this.name, { iceServers: [], bindAddress: '127.0.0.1' });
    this.pc = pc;
    pc.onStateChange((state) => (this.state = state));
    const audio = new Audio('0', 'RecvOnly');
    audio.addOpusCodec(111);
    const video = new Video('1', 'RecvOnly');
    video.addVP8Codec(96);
    this.tracks = [pc.addTrack(audio), pc.addTrack(video)];
    for (const track of this.tracks) {
      track.onMessage((message) => {
        // RTCP (payload types 200–206 in the second byte) is not media.
        const kind = message[1] ?? 0;
        if (kind >= 200 && kind <= 206) return;
        totals.packets += 1;
        totals.bytes += message.length;
      });
    }
    const gathered = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    pc.setLocalDescription();
    await gathered;
    const offer = pc.localDescription();
    if (!offer) throw new Error('no local description');
    const res = await fetch(`${target.baseUrl}/api/live/${target.streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${this.token}` },
      body: offer.sdp,
    });
    const answer = await res.text();
    if (res.status !== 201) throw new Error(`WHEP ${res.status}: ${answer}`);
    this.location = res.headers.get('location') ?? '';
    pc.setRemoteDescription(answer, 'answer');
  }

  /** Ends the WHEP session (as a player does) and closes the connection. */
  async leave(count = true): Promise<void> {
    if (this.location) {
      await fetch(`${target.baseUrl}${this.location}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${this.token}` },
      }).catch(() => undefined);
      this.location = '';
    }
    for (const track of this.tracks) track.close();
    this.pc?.close();
    this.tracks = [];
    this.pc = undefined;
    this.state = 'closed';
    if (count) totals.leaves += 1;
  }
}

const viewers: Viewer[] = [];
const send = (message: unknown) => process.send?.(message);

async function start(command: Extract<ViewerCommand, { type: 'start' }>): Promise<void> {
  target = { baseUrl: command.baseUrl, streamId: command.streamId };
  const created = command.tokens.map((token, i) => new Viewer(`soak-${process.pid}-${i}`, token));
  viewers.push(...created);
  // A few at a time: 100 connections take 2–3 s with 10 in parallel.
  for (let i = 0; i < created.length; i += 10) {
    await Promise.all(created.slice(i, i + 10).map((v) => v.join()));
  }
  send({ type: 'ready' });
}

async function churn(count: number): Promise<void> {
  const chosen = [...viewers].sort(() => Math.random() - 0.5).slice(0, count);
  for (const viewer of chosen) {
    await viewer.leave();
    await viewer.join().catch(() => undefined);
  }
  send({ type: 'churned' });
}

function stats(): ViewerStats {
  return {
    type: 'stats',
    viewers: viewers.length,
    connected: viewers.filter((v) => v.state === 'connected').length,
    ...totals,
  };
}

process.on('message', (command: ViewerCommand) => {
  const fail = (error: unknown) => send({ type: 'error', message: String(error) });
  switch (command.type) {
    case 'start':
      start(command).catch(fail);
      break;
    case 'stats':
      send(stats());
      break;
    case 'churn':
      churn(command.count).catch(fail);
      break;
    case 'close':
      // Exit without libdatachannel's cleanup(), which crashes once connections were collected.
      void Promise.all(viewers.map((v) => v.leave())).finally(() => process.exit(0));
      break;
  }
});

// The soak went away: nothing to watch for.
process.on('disconnect', () => process.exit(0));
