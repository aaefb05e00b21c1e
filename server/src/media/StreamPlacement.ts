import type { Logger } from 'pino';
import type { StreamCodecs } from './codecs';
import { MediaError } from './MediaError';
import type { MediaWorker } from './MediaWorker';
import type { NodeEndpoint } from './StreamRelay';

export interface StreamState {
  /** Names the stream in relay datagrams between workers. */
  channel: number;
  /** The worker holding the publisher (and the stream's first router). */
  origin: MediaWorker | undefined;
  codecs: StreamCodecs | undefined;
  /** Workers holding viewers of the stream, fed by the origin. */
  relays: Map<MediaWorker, Promise<void>>;
  /**
   * The other node's worker the stream is pulled from, when its publisher is on another node;
   * `origin` is then the worker of this node that pulls it.
   */
  originNode: OriginNode | undefined;
}

/** Where another node serves a stream from: its worker's relay address, channel and codecs. */
export interface OriginNode extends NodeEndpoint {
  codecs: StreamCodecs;
}

/** The live worker with the fewest sessions; ties go to `preferred` (no relay needed there). */
export function leastLoaded(
  load: Map<MediaWorker, number>,
  preferred: MediaWorker | undefined,
): MediaWorker {
  let best: MediaWorker | undefined;
  for (const [worker, n] of load) {
    const bestLoad = best ? (load.get(best) ?? 0) : Infinity;
    if (n < bestLoad || (n === bestLoad && worker === preferred)) best = worker;
  }
  if (!best) throw new MediaError('unavailable', 'The media server is restarting');
  return best;
}

/**
 * Where each stream's media lives among the workers: the worker holding its publisher (the
 * origin) and the workers holding its viewers, each fed by the origin over a loopback relay.
 */
export class StreamPlacement {
  private readonly streams = new Map<string, StreamState>();
  private nextChannel = 1;

  constructor(private readonly logger: Logger) {}

  get(streamId: string): StreamState | undefined {
    return this.streams.get(streamId);
  }

  has(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  /** The stream's placement, made (with a channel of its own) if it has none yet. */
  getOrCreate(streamId: string): StreamState {
    let stream = this.streams.get(streamId);
    if (!stream) {
      stream = {
        channel: this.nextChannel++,
        origin: undefined,
        codecs: undefined,
        relays: new Map(),
        originNode: undefined,
      };
      this.streams.set(streamId, stream);
    }
    return stream;
  }

  delete(streamId: string): void {
    this.streams.delete(streamId);
  }

  clear(): void {
    this.streams.clear();
  }

  ids(): string[] {
    return [...this.streams.keys()];
  }

  get size(): number {
    return this.streams.size;
  }

  /** Every worker holding some of the stream's media. */
  holders(stream: StreamState): Set<MediaWorker> {
    return new Set([...stream.relays.keys(), ...(stream.origin ? [stream.origin] : [])]);
  }

  holdsAny(worker: MediaWorker): boolean {
    for (const s of this.streams.values())
      if (s.origin === worker || s.relays.has(worker)) return true;
    return false;
  }

  /**
   * The publisher is on `worker` now, sending `codecs`. Relays follow the publisher: each is
   * told where the stream now comes from, and what it is.
   */
  published(streamId: string, stream: StreamState, worker: MediaWorker, codecs: StreamCodecs) {
    const moved = stream.origin !== worker;
    stream.origin = worker;
    stream.codecs = codecs;
    stream.relays.delete(worker);
    for (const relay of stream.relays.keys()) {
      relay
        .call({
          type: 'relay_from',
          streamId,
          channel: stream.channel,
          codecs,
          originPort: worker.relayPort,
        })
        .catch((err: unknown) => this.logger.warn({ err, streamId }, 'relay update failed'));
      if (moved)
        this.linkRelay(stream, streamId, relay).catch((err: unknown) =>
          this.logger.warn({ err, streamId }, 'relay link failed'),
        );
    }
  }

  /** Makes sure `worker` receives the stream, when it is not the origin; shared by racing viewers. */
  async feed(stream: StreamState, streamId: string, worker: MediaWorker): Promise<void> {
    if (worker === stream.origin) return;
    let relay = stream.relays.get(worker);
    if (!relay) {
      relay = this.startRelay(stream, streamId, worker);
      stream.relays.set(worker, relay);
    }
    await relay;
  }

  /**
   * A worker died: streams it originated have no origin until their publisher returns, and the
   * origins of streams it relayed stop sending to it. `tell` sends a request nobody waits for.
   */
  workerLost(
    worker: MediaWorker,
    tell: (to: MediaWorker, request: Parameters<MediaWorker['call']>[0]) => void,
  ): void {
    for (const [streamId, stream] of this.streams) {
      if (stream.origin === worker) stream.origin = undefined;
      stream.relays.delete(worker);
      if (stream.origin)
        tell(stream.origin, {
          type: 'relay_to',
          streamId,
          channel: stream.channel,
          port: worker.relayPort,
          add: false,
        });
    }
  }

  private async startRelay(
    stream: StreamState,
    streamId: string,
    worker: MediaWorker,
  ): Promise<void> {
    await worker.call({
      type: 'relay_from',
      streamId,
      channel: stream.channel,
      codecs: stream.codecs ?? {},
      originPort: stream.origin?.alive ? stream.origin.relayPort : undefined,
    });
    await this.linkRelay(stream, streamId, worker);
  }

  private async linkRelay(
    stream: StreamState,
    streamId: string,
    relay: MediaWorker,
  ): Promise<void> {
    const origin = stream.origin;
    if (!origin?.alive) return;
    await origin.call({
      type: 'relay_to',
      streamId,
      channel: stream.channel,
      port: relay.relayPort,
      add: true,
    });
  }
}
