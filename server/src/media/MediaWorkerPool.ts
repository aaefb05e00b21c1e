import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { childProcessEntry } from '../child-process-entry';
import { SafeEmitter } from '../events/SafeEmitter';
import type { StreamCodecs } from './codecs';
import type {
  MainToWorker,
  ReplyOf,
  WorkerError,
  WorkerRequest,
  WorkerSettings,
  WorkerStats,
  WorkerToMain,
} from './ipc';
import { MediaError } from './MediaError';
import type { RemoteCandidate } from './peer-config';

export type SessionRole = 'publish' | 'watch';

/** What the media plane reports outward; the lifecycle and the transports translate it. */
export interface MediaEventMap {
  publisher_connected: [streamId: string, sessionId: string];
  publisher_lost: [streamId: string, sessionId: string];
  subscriber_connected: [streamId: string, sessionId: string];
  subscriber_closed: [streamId: string, sessionId: string];
}

export interface MediaWorkerPoolOptions extends WorkerSettings {
  /** Worker processes to run; default one per core. */
  workers: number;
  logger: Logger;
  /** Watching sessions one user may hold on one stream; a new one beyond closes the oldest. */
  maxSessionsPerViewer?: number;
  /** How long a request to a worker may take before it fails. Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * A worker with no sessions whose memory grew this much since it started is replaced: the
   * library keeps a little memory per closed connection. Default 256 MB.
   */
  recycleGrowthBytes?: number;
}

interface Worker {
  index: number;
  child: ChildProcess;
  ready: Promise<void>;
  relayPort: number;
  alive: boolean;
  pending: Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>;
  lastStats: WorkerStats | undefined;
  /** Resident memory soon after start, to see growth against. */
  baselineRss: number | undefined;
}

interface StreamState {
  /** Names the stream in relay datagrams between workers. */
  channel: number;
  /** The worker holding the publisher (and the stream's first router). */
  origin: Worker | undefined;
  codecs: StreamCodecs | undefined;
  /** Workers holding viewers of the stream, fed by the origin. */
  relays: Map<Worker, Promise<void>>;
}

interface Session {
  streamId: string;
  role: SessionRole;
  worker: Worker;
  owner: string | undefined;
  createdAt: number;
}

/** The compiled worker beside the compiled server, or the TypeScript one when run from sources. */
const workerEntry = childProcessEntry(import.meta.url, 'worker-main');

const counterNames = [
  'forwardedPackets',
  'forwardedBytes',
  'nacksAnswered',
  'keyframeRequests',
  'upstreamNacks',
] as const;

/**
 * The media plane as the main process sees it: worker processes that own the peer connections
 * (mediasoup's model), steered over typed IPC. A stream's publisher lives on one worker; viewers
 * go to the least loaded worker, and a worker other than the publisher's is fed over a loopback
 * relay. The main process keeps the registry of sessions, so it answers who owns what without
 * asking a worker, and never waits on media for anything but negotiation.
 */
export class MediaWorkerPool extends SafeEmitter<MediaEventMap> {
  private readonly workers: Worker[] = [];
  private readonly streams = new Map<string, StreamState>();
  private readonly sessions = new Map<string, Session>();
  private nextChannel = 1;
  private nextRequestId = 1;
  private closing = false;
  /** Counters of workers that died or were replaced, so the totals never go backwards. */
  private readonly retired: Record<(typeof counterNames)[number], number> = {
    forwardedPackets: 0,
    forwardedBytes: 0,
    nacksAnswered: 0,
    keyframeRequests: 0,
    upstreamNacks: 0,
  };

  constructor(private readonly options: MediaWorkerPoolOptions) {
    // Events are emitted from IPC message handlers: a listener's throw there would end the process.
    super((err, event) => options.logger.error({ err, event }, 'media event listener failed'));
    this.recycler = setInterval(() => {
      this.recycleIdleWorkers().catch((err: unknown) =>
        options.logger.error({ err }, 'could not recycle idle media workers'),
      );
    }, 30_000);
    this.recycler.unref();
  }

  private readonly recycler: NodeJS.Timeout;

  /**
   * Workers start with the first media session, not with the server: a server nobody streams to
   * holds no worker processes (~55 MB resident each), and the first publisher waits once for
   * them to start (~0.15 s). Once started they stay, and one that dies is replaced.
   */
  private startWorkers(): void {
    if (this.workers.length > 0 || this.closing) return;
    for (let i = 0; i < Math.max(1, this.options.workers); i += 1) this.workers.push(this.spawn(i));
  }

  /** Replaces idle workers whose memory crept up with connections opened and closed over time. */
  private async recycleIdleWorkers(): Promise<void> {
    const limit = this.options.recycleGrowthBytes ?? 256 * 1024 * 1024;
    await this.workerStats();
    for (const worker of this.workers) {
      const stats = worker.lastStats;
      if (!worker.alive || !stats || this.closing) continue;
      worker.baselineRss ??= stats.rssBytes;
      const holds =
        [...this.sessions.values()].some((s) => s.worker === worker) ||
        [...this.streams.values()].some((s) => s.origin === worker || s.relays.has(worker));
      if (holds || stats.rssBytes - worker.baselineRss < limit) continue;
      this.options.logger.info(
        { worker: worker.index, rssMB: Math.round(stats.rssBytes / 1048576) },
        'replacing an idle media worker whose memory grew',
      );
      this.retire(worker);
      this.workers[worker.index] = this.spawn(worker.index);
      this.tell(worker, { type: 'shutdown' });
    }
  }

  /** Keeps a worker's counters in the totals once it is gone. */
  private retire(worker: Worker): void {
    if (worker.lastStats)
      for (const name of counterNames) this.retired[name] += worker.lastStats[name];
    worker.lastStats = undefined;
  }

  /** Starts the workers now, if the first session has not already, and resolves once they run. */
  async ready(): Promise<void> {
    this.startWorkers();
    await Promise.all(this.workers.map((w) => w.ready));
  }

  /** Takes a publisher's offer; `publisher_exists` if the stream already has one. */
  async publish(
    streamId: string,
    offerSdp: string,
  ): Promise<{ sessionId: string; answer: string }> {
    const stream = this.stream(streamId);
    const worker = stream.origin?.alive ? stream.origin : this.leastLoaded(undefined);
    const sessionId = randomUUID();
    this.sessions.set(sessionId, this.session(streamId, 'publish', worker, undefined));
    let reply: ReplyOf<'publish'>;
    try {
      reply = await this.call(worker, {
        type: 'publish',
        streamId,
        channel: stream.channel,
        sessionId,
        sdp: offerSdp,
      });
    } catch (error) {
      this.sessions.delete(sessionId);
      // A refused first offer leaves nothing behind, here or on the worker (whose relay would
      // otherwise keep a channel number this stream no longer has).
      if (!stream.origin && !stream.codecs && stream.relays.size === 0) {
        this.streams.delete(streamId);
        this.tell(worker, { type: 'close_stream', streamId });
      }
      throw error;
    }
    const moved = stream.origin !== worker;
    stream.origin = worker;
    stream.codecs = reply.codecs;
    stream.relays.delete(worker);
    // Relays follow the publisher: tell each where the stream now comes from, and what it is.
    for (const relay of stream.relays.keys()) {
      this.call(relay, {
        type: 'relay_from',
        streamId,
        channel: stream.channel,
        codecs: reply.codecs,
        originPort: worker.relayPort,
      }).catch((err: unknown) =>
        this.options.logger.warn({ err, streamId }, 'relay update failed'),
      );
      if (moved)
        this.linkRelay(stream, streamId, relay).catch((err: unknown) =>
          this.options.logger.warn({ err, streamId }, 'relay link failed'),
        );
    }
    return { sessionId, answer: reply.sdp };
  }

  /**
   * Server-offered viewer connection (the web app's signalling); finish with `acceptAnswer`.
   * `maxSessions` as for `answerViewer`; the session this one `replaces` (a re-offer, closed by
   * the caller once this one holds the viewer) is not counted against it.
   */
  async offerToViewer(
    streamId: string,
    owner: string | undefined,
    maxSessions?: number,
    replaces?: string,
  ): Promise<{ sessionId: string; offer: string }> {
    const { sessionId, worker, stream } = await this.openWatch(
      streamId,
      owner,
      maxSessions,
      replaces,
    );
    try {
      const { sdp } = await this.call(worker, {
        type: 'offer_to_viewer',
        streamId,
        channel: stream.channel,
        sessionId,
      });
      return { sessionId, offer: sdp };
    } catch (error) {
      this.sessions.delete(sessionId);
      throw error;
    }
  }

  /**
   * Viewer-offered connection (WHEP). With `maxSessions`, the owner may hold that many watching
   * sessions at once, of any streams, and one more is refused (`too_many_sessions`) rather than
   * replacing their oldest: for owners that stand for many people, such as one address.
   */
  async answerViewer(
    streamId: string,
    offerSdp: string,
    owner: string | undefined,
    maxSessions?: number,
  ): Promise<{ sessionId: string; answer: string }> {
    const { sessionId, worker, stream } = await this.openWatch(streamId, owner, maxSessions);
    try {
      const { sdp } = await this.call(worker, {
        type: 'answer_viewer',
        streamId,
        channel: stream.channel,
        sessionId,
        sdp: offerSdp,
      });
      return { sessionId, answer: sdp };
    } catch (error) {
      this.sessions.delete(sessionId);
      throw error;
    }
  }

  async acceptAnswer(sessionId: string, answerSdp: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session || session.role !== 'watch')
      throw new MediaError('session_not_found', 'No such media session');
    await this.call(session.worker, { type: 'accept_answer', sessionId, sdp: answerSdp });
  }

  async addIceCandidate(sessionId: string, candidate: RemoteCandidate): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new MediaError('session_not_found', 'No such media session');
    await this.call(session.worker, { type: 'add_candidate', sessionId, candidate });
  }

  sessionInfo(
    sessionId: string,
  ): { streamId: string; role: SessionRole; owner: string | undefined } | undefined {
    const session = this.sessions.get(sessionId);
    return session && { streamId: session.streamId, role: session.role, owner: session.owner };
  }

  /** Ends every watching session `owner` holds on a stream (their access to it was revoked). */
  closeViewerSessions(streamId: string, owner: string): void {
    for (const [id, session] of [...this.sessions])
      if (session.role === 'watch' && session.streamId === streamId && session.owner === owner)
        this.closeSession(id);
  }

  /** Ends one session; the stream goes on. Unknown ids are ignored (closing is idempotent). */
  closeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    this.tell(session.worker, { type: 'close_session', sessionId });
  }

  /** Ends a stream's media on every worker: every connection, relay and buffer of it. */
  closeStream(streamId: string): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    for (const [id, session] of this.sessions)
      if (session.streamId === streamId) this.sessions.delete(id);
    const holders = new Set([...stream.relays.keys(), ...(stream.origin ? [stream.origin] : [])]);
    for (const worker of holders) this.tell(worker, { type: 'close_stream', streamId });
  }

  requestKeyframe(streamId: string): void {
    const origin = this.streams.get(streamId)?.origin;
    if (origin) this.tell(origin, { type: 'request_keyframe', streamId });
  }

  /** The streams this node holds media for. */
  streamIds(): string[] {
    return [...this.streams.keys()];
  }

  /** Streams with media, and their sessions, as the main process knows them. */
  stats(): { streams: number; publishers: number; subscribers: number } {
    let publishers = 0;
    let subscribers = 0;
    for (const session of this.sessions.values()) {
      if (session.role === 'publish') publishers += 1;
      else subscribers += 1;
    }
    return { streams: this.streams.size, publishers, subscribers };
  }

  /** Each worker's own account: its engine's counts, sockets, memory and forwarding counters. */
  async workerStats(): Promise<(WorkerStats & { pid: number })[]> {
    const all = await Promise.all(
      this.workers.map(async (worker) => {
        if (!worker.alive) return undefined;
        const stats = await this.call(worker, { type: 'stats' }, 2000).catch(() => undefined);
        if (stats) worker.lastStats = stats;
        return stats && { ...stats, pid: worker.child.pid ?? 0 };
      }),
    );
    return all.filter((s) => s !== undefined);
  }

  /** Forwarding counters summed over every worker this pool ever ran. */
  async totals(): Promise<Record<(typeof counterNames)[number], number>> {
    await this.workerStats();
    const totals = { ...this.retired };
    for (const worker of this.workers)
      for (const name of counterNames) totals[name] += worker.lastStats?.[name] ?? 0;
    return totals;
  }

  /** The workers' process ids (for benchmarks and tests that look at the processes). */
  get pids(): number[] {
    return this.workers.flatMap((w) => (w.alive && w.child.pid ? [w.child.pid] : []));
  }

  /** Stops every worker; each closes its connections and exits. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.recycler);
    this.streams.clear();
    this.sessions.clear();
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (!worker.alive) return resolve();
            const timer = setTimeout(() => {
              worker.child.kill('SIGKILL');
              resolve();
            }, 3000);
            worker.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            this.tell(worker, { type: 'shutdown' });
          }),
      ),
    );
  }

  private async openWatch(
    streamId: string,
    owner: string | undefined,
    maxSessions?: number,
    replaces?: string,
  ): Promise<{ sessionId: string; worker: Worker; stream: StreamState }> {
    const stream = this.streams.get(streamId);
    if (!stream?.codecs)
      throw new MediaError('no_publisher', 'The broadcaster has not started sending yet');
    // Counted and registered in one turn of the event loop, so racing requests cannot overshoot.
    if (owner !== undefined && maxSessions !== undefined)
      this.refuseBeyond(owner, maxSessions, replaces);
    else if (owner !== undefined) this.limitSessions(streamId, owner);
    const worker = this.leastLoaded(stream.origin);
    const sessionId = randomUUID();
    this.sessions.set(sessionId, this.session(streamId, 'watch', worker, owner));
    try {
      if (worker !== stream.origin) {
        let relay = stream.relays.get(worker);
        if (!relay) {
          relay = this.startRelay(stream, streamId, worker);
          stream.relays.set(worker, relay);
        }
        await relay;
      }
    } catch (error) {
      this.sessions.delete(sessionId);
      stream.relays.delete(worker);
      throw error;
    }
    return { sessionId, worker, stream };
  }

  private async startRelay(stream: StreamState, streamId: string, worker: Worker): Promise<void> {
    await this.call(worker, {
      type: 'relay_from',
      streamId,
      channel: stream.channel,
      codecs: stream.codecs ?? {},
      originPort: stream.origin?.alive ? stream.origin.relayPort : undefined,
    });
    await this.linkRelay(stream, streamId, worker);
  }

  private async linkRelay(stream: StreamState, streamId: string, relay: Worker): Promise<void> {
    const origin = stream.origin;
    if (!origin?.alive) return;
    await this.call(origin, {
      type: 'relay_to',
      streamId,
      channel: stream.channel,
      port: relay.relayPort,
      add: true,
    });
  }

  /** A user's newest watching sessions of a stream stay; beyond the limit the oldest go. */
  private limitSessions(streamId: string, owner: string): void {
    const max = this.options.maxSessionsPerViewer ?? 3;
    const mine = [...this.sessions.entries()]
      .filter(([, s]) => s.role === 'watch' && s.streamId === streamId && s.owner === owner)
      .sort(([, a], [, b]) => a.createdAt - b.createdAt);
    // The worker reports each close as `subscriber_closed`, which releases the presence.
    for (const [id] of mine.slice(0, Math.max(0, mine.length - max + 1))) this.closeSession(id);
  }

  private refuseBeyond(owner: string, maxSessions: number, replaces: string | undefined): void {
    let held = 0;
    for (const [id, session] of this.sessions)
      if (session.role === 'watch' && session.owner === owner && id !== replaces) held += 1;
    if (held >= maxSessions)
      throw new MediaError('too_many_sessions', 'Too many viewing sessions; close one first');
  }

  private stream(streamId: string): StreamState {
    let stream = this.streams.get(streamId);
    if (!stream) {
      stream = {
        channel: this.nextChannel++,
        origin: undefined,
        codecs: undefined,
        relays: new Map(),
      };
      this.streams.set(streamId, stream);
    }
    return stream;
  }

  private session(
    streamId: string,
    role: SessionRole,
    worker: Worker,
    owner: string | undefined,
  ): Session {
    return { streamId, role, worker, owner, createdAt: performance.now() };
  }

  /** The live worker with the fewest sessions; ties go to `preferred` (no relay needed there). */
  private leastLoaded(preferred: Worker | undefined): Worker {
    this.startWorkers();
    const load = new Map<Worker, number>();
    for (const worker of this.workers) if (worker.alive) load.set(worker, 0);
    for (const session of this.sessions.values())
      if (load.has(session.worker)) load.set(session.worker, (load.get(session.worker) ?? 0) + 1);
    let best: Worker | undefined;
    for (const [worker, n] of load) {
      const bestLoad = best ? (load.get(best) ?? 0) : Infinity;
      if (n < bestLoad || (n === bestLoad && worker === preferred)) best = worker;
    }
    if (!best) throw new MediaError('unavailable', 'The media server is restarting');
    return best;
  }

  private call<T extends WorkerRequest>(
    worker: Worker,
    request: T,
    timeoutMs = this.options.requestTimeoutMs ?? 10_000,
  ): Promise<ReplyOf<T['type']>> {
    return worker.ready.then(
      () =>
        new Promise<ReplyOf<T['type']>>((resolve, reject) => {
          if (!worker.alive)
            return reject(new MediaError('unavailable', 'The media server is restarting'));
          const id = this.nextRequestId++;
          const timer = setTimeout(() => {
            worker.pending.delete(id);
            reject(new MediaError('unavailable', 'The media server did not answer'));
          }, timeoutMs);
          worker.pending.set(id, {
            resolve: (v) => {
              clearTimeout(timer);
              resolve(v as ReplyOf<T['type']>);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          worker.child.send({ id, request } satisfies MainToWorker);
        }),
    );
  }

  /** A request whose outcome nobody waits for; a failure is logged. */
  private tell(worker: Worker, request: WorkerRequest): void {
    this.call(worker, request, 5000).catch((err: unknown) => {
      if (!this.closing)
        this.options.logger.debug({ err, type: request.type }, 'media request failed');
    });
  }

  private spawn(index: number): Worker {
    const { logger, network, maxPublishBitrate, connectTimeoutMs, logLevel } = this.options;
    const settings: WorkerSettings = { network, maxPublishBitrate, connectTimeoutMs, logLevel };
    const child = fork(workerEntry.path, [], {
      // A server started under --cpu-prof (the benchmark's --profile) profiles its workers too.
      execArgv: [
        ...process.execArgv.filter((a) => a.startsWith('--cpu-prof')),
        ...workerEntry.execArgv,
      ],
      env: { ...process.env, ONAIR_MEDIA_WORKER: JSON.stringify(settings) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let markReady: () => void = () => undefined;
    let failStart: (e: unknown) => void = () => undefined;
    const worker: Worker = {
      index,
      child,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failStart = reject;
      }),
      relayPort: 0,
      alive: true,
      pending: new Map(),
      lastStats: undefined,
      baselineRss: undefined,
    };
    // Nobody may be waiting yet; a start failure is also reported by 'exit'.
    worker.ready.catch(() => undefined);
    child.on('message', (message: WorkerToMain) => this.receive(worker, message, markReady));
    child.on('error', (err) => logger.error({ err, worker: index }, 'media worker error'));
    child.once('exit', (code, signal) => {
      failStart(new MediaError('unavailable', 'The media server is restarting'));
      this.onExit(worker, code, signal);
    });
    return worker;
  }

  private receive(worker: Worker, message: WorkerToMain, markReady: () => void): void {
    if ('id' in message) {
      const pending = worker.pending.get(message.id);
      if (!pending) return;
      worker.pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(this.toError(message.error));
      return;
    }
    switch (message.event) {
      case 'ready':
        worker.relayPort = message.relayPort;
        markReady();
        return;
      case 'publisher_connected':
      case 'subscriber_connected':
        this.emit(message.event, message.streamId, message.sessionId);
        return;
      case 'publisher_lost':
      case 'subscriber_closed': {
        const known = this.sessions.get(message.sessionId);
        if (known?.worker === worker) this.sessions.delete(message.sessionId);
        // Sessions the registry let go of first (closed by the stream's end) were reported already.
        if (known || message.event === 'publisher_lost' || this.streams.has(message.streamId))
          this.emit(message.event, message.streamId, message.sessionId);
        return;
      }
    }
  }

  private toError(error: WorkerError): Error {
    if (error.detail) this.options.logger.info({ detail: error.detail }, error.message);
    if (error.reason === 'internal') return new Error(error.message);
    return new MediaError(error.reason, error.message, error.detail);
  }

  /** A worker died: its sessions are gone (publishers get the grace period), and it is replaced. */
  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    worker.alive = false;
    for (const pending of worker.pending.values())
      pending.reject(new MediaError('unavailable', 'The media server is restarting'));
    worker.pending.clear();
    if (this.closing || this.workers[worker.index] !== worker) return;
    this.options.logger.error({ worker: worker.index, code, signal }, 'media worker exited');
    this.retire(worker);
    for (const [id, session] of [...this.sessions]) {
      if (session.worker !== worker) continue;
      this.sessions.delete(id);
      this.emit(
        session.role === 'publish' ? 'publisher_lost' : 'subscriber_closed',
        session.streamId,
        id,
      );
    }
    for (const [streamId, stream] of this.streams) {
      if (stream.origin === worker) stream.origin = undefined;
      stream.relays.delete(worker);
      if (stream.origin)
        this.tell(stream.origin, {
          type: 'relay_to',
          streamId,
          channel: stream.channel,
          port: worker.relayPort,
          add: false,
        });
    }
    const replacement = setTimeout(() => {
      if (!this.closing) this.workers[worker.index] = this.spawn(worker.index);
    }, 200);
    replacement.unref();
  }
}
