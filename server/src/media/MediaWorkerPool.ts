import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SafeEmitter } from '../events/SafeEmitter';
import type { QualityChoice } from '@onair/protocol';
import type {
  LayersEvent,
  RecordingEvent,
  MediaEvent,
  MediaEventMap,
  ReplyOf,
  WorkerRequest,
  WorkerSettings,
  WorkerStats,
} from './ipc';
import { MediaError } from './MediaError';
import { MediaWorker } from './MediaWorker';
import { codecName, type MediaKind } from './codecs';
import type { RemoteCandidate } from './peer-config';
import type { RecordingPlan } from './recording/StreamRecorder';
import { SessionRegistry, type SessionRole } from './SessionRegistry';
import { unreceivableKinds } from './sdp';
import { leastLoaded, StreamPlacement, type OriginNode, type StreamState } from './StreamPlacement';

export type { MediaEventMap } from './ipc';
export type { OriginNode } from './StreamPlacement';
export type { SessionRole } from './SessionRegistry';
export { relayKeyPurpose } from './RelayCipher';
export type { MediaKind } from './codecs';
export { forwardedCodecNames, unforwardableKinds } from './sdp';

/** How a node finds the other node serving a stream, and has this pool pull it from there. */
export interface RemoteOrigins {
  /** Resolves once the stream is pulled (see `pullFromNode`), or false when no node serves it. */
  find(streamId: string): Promise<boolean>;
}

export interface MediaWorkerPoolOptions extends WorkerSettings {
  /** Worker processes to run; default one per core. */
  workers: number;
  /** The address other nodes reach this node's relay sockets at. */
  nodeRelayAddress: string;
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

const counterNames = [
  'forwardedPackets',
  'forwardedBytes',
  'nacksAnswered',
  'keyframeRequests',
  'upstreamNacks',
  'nodeRelaySent',
  'nodeRelayReceived',
  'nodeRelayRejected',
] as const;

/**
 * The media plane as the main process sees it: worker processes that own the peer connections
 * (mediasoup's model), steered over typed IPC. A stream's publisher lives on one worker; viewers
 * go to the least loaded worker, and a worker other than the publisher's is fed over a loopback
 * relay. The pool composes the workers' supervision (start, recycle, replace), the session
 * registry and stream placement, and never waits on media for anything but negotiation.
 */
export class MediaWorkerPool extends SafeEmitter<MediaEventMap> {
  private readonly workers: MediaWorker[] = [];
  private readonly streams: StreamPlacement;
  private readonly sessions = new SessionRegistry();
  private closing = false;
  /** Counters of workers that died or were replaced, so the totals never go backwards. */
  private readonly retired: Record<(typeof counterNames)[number], number> = {
    forwardedPackets: 0,
    forwardedBytes: 0,
    nacksAnswered: 0,
    keyframeRequests: 0,
    upstreamNacks: 0,
    nodeRelaySent: 0,
    nodeRelayReceived: 0,
    nodeRelayRejected: 0,
  };
  private remoteOrigins: RemoteOrigins | undefined;
  /** One search per stream, shared by the viewers who arrive meanwhile. */
  private readonly searches = new Map<string, Promise<boolean>>();

  constructor(private readonly options: MediaWorkerPoolOptions) {
    // Events are emitted from IPC message handlers: a listener's throw there would end the process.
    super((err, event) => options.logger.error({ err, event }, 'media event listener failed'));
    this.streams = new StreamPlacement(options.logger);
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
      const holds = this.sessions.holdsAny(worker) || this.streams.holdsAny(worker);
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
  private retire(worker: MediaWorker): void {
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
    /** The session's id, when the caller has already recorded it (a publisher's claim). */
    sessionId: string = randomUUID(),
    recording?: RecordingPlan,
  ): Promise<{ sessionId: string; answer: string }> {
    const stream = this.streams.getOrCreate(streamId);
    const worker = stream.origin?.alive ? stream.origin : this.leastLoaded(undefined);
    this.sessions.add(sessionId, streamId, 'publish', worker, undefined);
    let reply: ReplyOf<'publish'>;
    try {
      reply = await worker.call({
        type: 'publish',
        streamId,
        channel: stream.channel,
        sessionId,
        sdp: offerSdp,
        recording,
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
    // The publisher is here now: the stream is no longer pulled from another node.
    stream.originNode = undefined;
    this.streams.published(streamId, stream, worker, reply.codecs);
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
    quality: QualityChoice = 'auto',
  ): Promise<{ sessionId: string; offer: string }> {
    const { sessionId, worker, stream } = await this.openWatch(
      streamId,
      owner,
      maxSessions,
      replaces,
    );
    try {
      const { sdp } = await worker.call({
        type: 'offer_to_viewer',
        streamId,
        channel: stream.channel,
        sessionId,
        quality,
      });
      return { sessionId, offer: sdp };
    } catch (error) {
      this.sessions.delete(sessionId);
      this.releaseIfUnwatched(streamId);
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
    quality: QualityChoice = 'auto',
  ): Promise<{ sessionId: string; answer: string }> {
    const { sessionId, worker, stream } = await this.openWatch(streamId, owner, maxSessions);
    try {
      const { sdp } = await worker.call({
        type: 'answer_viewer',
        streamId,
        channel: stream.channel,
        sessionId,
        sdp: offerSdp,
        quality,
      });
      return { sessionId, answer: sdp };
    } catch (error) {
      this.sessions.delete(sessionId);
      this.releaseIfUnwatched(streamId);
      throw error;
    }
  }

  async acceptAnswer(sessionId: string, answerSdp: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session || session.role !== 'watch')
      throw new MediaError('session_not_found', 'No such media session');
    await session.worker.call({ type: 'accept_answer', sessionId, sdp: answerSdp });
  }

  /** A viewer's quality choice for its session, applied at once. */
  async setQuality(sessionId: string, quality: QualityChoice): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session || session.role !== 'watch')
      throw new MediaError('session_not_found', 'No such media session');
    await session.worker.call({ type: 'set_quality', sessionId, quality });
  }

  async addIceCandidate(sessionId: string, candidate: RemoteCandidate): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new MediaError('session_not_found', 'No such media session');
    await session.worker.call({ type: 'add_candidate', sessionId, candidate });
  }

  /**
   * What a viewer's offer cannot receive of a stream as it is sent (`unreceivableKinds`), with the
   * codec each kind is sent in; undefined while this node does not know the stream's codecs.
   */
  viewerMismatch(
    streamId: string,
    offerSdp: string,
  ): { kinds: MediaKind[]; sent: Partial<Record<MediaKind, string>> } | undefined {
    const codecs = this.streams.get(streamId)?.codecs;
    if (!codecs) return undefined;
    const stream: Partial<Record<MediaKind, { name: string; fmtp?: string | undefined }>> = {};
    const sent: Partial<Record<MediaKind, string>> = {};
    for (const kind of ['audio', 'video'] as const) {
      const codec = codecs[kind];
      if (!codec) continue;
      stream[kind] = { name: codecName(codec), fmtp: codec.fmtp };
      sent[kind] = codecName(codec);
    }
    return { kinds: unreceivableKinds(offerSdp, stream), sent };
  }

  sessionInfo(
    sessionId: string,
  ): { streamId: string; role: SessionRole; owner: string | undefined } | undefined {
    const session = this.sessions.get(sessionId);
    return session && { streamId: session.streamId, role: session.role, owner: session.owner };
  }

  /** Ends every watching session `owner` holds on a stream (their access to it was revoked). */
  closeViewerSessions(streamId: string, owner: string): void {
    for (const id of this.sessions.watchingOf(streamId, owner)) this.closeSession(id);
  }

  /** Ends one session; the stream goes on. Unknown ids are ignored (closing is idempotent). */
  closeSession(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    this.tell(session.worker, { type: 'close_session', sessionId });
    this.releaseIfUnwatched(session.streamId);
  }

  /** The publishing sessions this node holds, with their streams. */
  publisherSessions(): { streamId: string; sessionId: string }[] {
    return this.sessions.publishers();
  }

  /**
   * Ends a stream's media on every worker: every connection, relay and buffer of it. `ended`:
   * the stream is over (its recording is finished), not just unwatched here.
   */
  closeStream(streamId: string, ended = false): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    this.sessions.dropStream(streamId);
    for (const worker of this.streams.holders(stream))
      this.tell(worker, { type: 'close_stream', streamId, ended });
  }

  requestKeyframe(streamId: string): void {
    const origin = this.streams.get(streamId)?.origin;
    if (origin) this.tell(origin, { type: 'request_keyframe', streamId });
  }

  /** How this pool finds streams published on other nodes (none on a lone node). */
  useRemoteOrigins(origins: RemoteOrigins): void {
    this.remoteOrigins = origins;
  }

  /**
   * Where other nodes pull `streamId` from, when its publisher is on this node: the relay
   * address of the worker holding it, the stream's channel here and its codecs.
   */
  originOf(streamId: string): OriginNode | undefined {
    const stream = this.streams.get(streamId);
    const worker = stream?.origin;
    if (!stream?.codecs || !worker?.alive || stream.originNode) return undefined;
    if (!this.sessions.onStream(streamId, 'publish')) return undefined;
    return {
      address: this.options.nodeRelayAddress,
      port: worker.nodeRelayPort,
      channel: stream.channel,
      codecs: stream.codecs,
    };
  }

  /**
   * The stream's publisher is on another node, at `origin`: one worker of this node pulls it
   * from there and feeds this node's other workers. A node already pulling it moves to the new
   * origin, and its viewers go on in the same sessions (their sequence numbers run on). Ignored
   * when this node holds the publisher itself. With `ifHeld` (another node's publisher
   * connected), a node with nobody watching the stream pulls nothing, and forgets what it held
   * of it: its next viewer finds the stream where it is now.
   */
  async pullFromNode(streamId: string, origin: OriginNode, ifHeld = false): Promise<void> {
    if (this.closing || this.sessions.onStream(streamId, 'publish')) return;
    if (ifHeld && !this.sessions.onStream(streamId)) {
      this.closeStream(streamId);
      return;
    }
    const stream = this.streams.getOrCreate(streamId);
    const worker = stream.origin?.alive ? stream.origin : this.leastLoaded(undefined);
    const { codecs, ...endpoint } = origin;
    try {
      await worker.call({
        type: 'relay_from_node',
        streamId,
        channel: stream.channel,
        codecs,
        origin: endpoint,
      });
    } catch (error) {
      if (!stream.codecs && !this.sessions.onStream(streamId)) this.closeStream(streamId);
      throw error;
    }
    // Closed, or published here, while the worker was asked.
    if (this.streams.get(streamId) !== stream || this.sessions.onStream(streamId, 'publish'))
      return;
    stream.originNode = origin;
    this.streams.published(streamId, stream, worker, codecs);
  }

  /** The streams this node holds media for. */
  streamIds(): string[] {
    return this.streams.ids();
  }

  /** Streams with media, and their sessions, as the main process knows them. */
  stats(): { streams: number; publishers: number; subscribers: number } {
    return { streams: this.streams.size, ...this.sessions.counts() };
  }

  /** Each worker's own account: its engine's counts, sockets, memory and forwarding counters. */
  async workerStats(): Promise<(WorkerStats & { pid: number })[]> {
    const all = await Promise.all(
      this.workers.map(async (worker) => {
        if (!worker.alive) return undefined;
        const stats = await worker.call({ type: 'stats' }, 2000).catch(() => undefined);
        if (stats) worker.lastStats = stats;
        return stats && { ...stats, pid: worker.pid ?? 0 };
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
    return this.workers.flatMap((w) => (w.alive && w.pid ? [w.pid] : []));
  }

  /** Stops every worker; each closes its connections and exits. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.recycler);
    this.streams.clear();
    this.sessions.clear();
    await Promise.all(this.workers.map((worker) => worker.stop(3000)));
  }

  private async openWatch(
    streamId: string,
    owner: string | undefined,
    maxSessions?: number,
    replaces?: string,
  ): Promise<{ sessionId: string; worker: MediaWorker; stream: StreamState }> {
    let stream = this.streams.get(streamId);
    if (!stream?.codecs && (await this.findRemoteOrigin(streamId)))
      stream = this.streams.get(streamId);
    // Pulled from another node by a worker that died: another one pulls it.
    if (stream?.originNode && !stream.origin?.alive) {
      await this.pullFromNode(streamId, stream.originNode);
      stream = this.streams.get(streamId);
    }
    if (!stream?.codecs)
      throw new MediaError('no_publisher', 'The broadcaster has not started sending yet');
    // Counted and registered in one turn of the event loop, so racing requests cannot overshoot.
    if (owner !== undefined && maxSessions !== undefined)
      this.sessions.refuseBeyond(owner, maxSessions, replaces);
    else if (owner !== undefined) this.limitSessions(streamId, owner);
    const worker = this.leastLoaded(stream.origin);
    const sessionId = randomUUID();
    this.sessions.add(sessionId, streamId, 'watch', worker, owner);
    try {
      await this.streams.feed(stream, streamId, worker);
    } catch (error) {
      this.sessions.delete(sessionId);
      stream.relays.delete(worker);
      this.releaseIfUnwatched(streamId);
      throw error;
    }
    return { sessionId, worker, stream };
  }

  private findRemoteOrigin(streamId: string): Promise<boolean> {
    const origins = this.remoteOrigins;
    if (!origins) return Promise.resolve(false);
    let search = this.searches.get(streamId);
    if (!search) {
      search = origins
        .find(streamId)
        .catch((err: unknown) => {
          this.options.logger.warn({ err, streamId }, 'could not pull a stream from its node');
          return false;
        })
        .finally(() => this.searches.delete(streamId));
      this.searches.set(streamId, search);
    }
    return search;
  }

  /** A stream pulled from another node is let go once nobody here watches it. */
  private releaseIfUnwatched(streamId: string): void {
    const stream = this.streams.get(streamId);
    if (stream?.originNode && !this.sessions.onStream(streamId)) this.closeStream(streamId);
  }

  /** A user's newest watching sessions of a stream stay; beyond the limit the oldest go. */
  private limitSessions(streamId: string, owner: string): void {
    const max = this.options.maxSessionsPerViewer ?? 3;
    // The worker reports each close as `subscriber_closed`, which releases the presence.
    for (const id of this.sessions.oldestBeyond(streamId, owner, max)) this.closeSession(id);
  }

  private leastLoaded(preferred: MediaWorker | undefined): MediaWorker {
    this.startWorkers();
    return leastLoaded(this.sessions.load(this.workers.filter((w) => w.alive)), preferred);
  }

  /** A request whose outcome nobody waits for; a failure is logged. */
  private tell(worker: MediaWorker, request: WorkerRequest): void {
    worker.call(request, 5000).catch((err: unknown) => {
      if (!this.closing)
        this.options.logger.debug({ err, type: request.type }, 'media request failed');
    });
  }

  private spawn(index: number): MediaWorker {
    const { logger, network, nodeRelay, maxPublishBitrate, connectTimeoutMs, logLevel } =
      this.options;
    return new MediaWorker({
      index,
      settings: { network, nodeRelay, maxPublishBitrate, connectTimeoutMs, logLevel },
      logger,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 10_000,
      onEvent: (worker, event) => this.receive(worker, event),
      onExit: (worker, code, signal) => this.onExit(worker, code, signal),
    });
  }

  private receive(worker: MediaWorker, message: MediaEvent | LayersEvent | RecordingEvent): void {
    switch (message.event) {
      case 'recording':
        this.emit('recording', message.streamId, message.report);
        return;
      case 'stream_layers':
        // Only the worker holding the publisher measures its layers.
        if (this.streams.get(message.streamId)?.origin === worker)
          this.emit('stream_layers', message.streamId, message.layers);
        return;
      case 'publisher_connected':
      case 'publisher_quiet':
      case 'publisher_sending':
      case 'subscriber_connected':
        this.emit(message.event, message.streamId, message.sessionId);
        return;
      case 'publisher_lost':
      case 'subscriber_closed': {
        const known = this.sessions.get(message.sessionId);
        if (known?.worker === worker) {
          this.sessions.delete(message.sessionId);
          this.releaseIfUnwatched(message.streamId);
        }
        // The viewers of a stream this pool ended are not reported one by one: the stream's end
        // is reported by whoever ended it. Every other close is reported once, by its worker.
        if (message.event === 'subscriber_closed' && message.cause === 'stream_closed_by_parent')
          return;
        this.emit(message.event, message.streamId, message.sessionId);
        return;
      }
    }
  }

  /** A worker died: its sessions are gone (publishers get the grace period), and it is replaced. */
  private onExit(worker: MediaWorker, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closing || this.workers[worker.index] !== worker) return;
    this.options.logger.error({ worker: worker.index, code, signal }, 'media worker exited');
    this.retire(worker);
    for (const [id, session] of this.sessions.dropWorker(worker))
      this.emit(
        session.role === 'publish' ? 'publisher_lost' : 'subscriber_closed',
        session.streamId,
        id,
      );
    this.streams.workerLost(worker, (to, request) => this.tell(to, request));
    // A stream pulled from another node whose pulling worker died is pulled again by another
    // worker, for the viewers on the rest of them.
    for (const streamId of this.streams.ids()) {
      const stream = this.streams.get(streamId);
      if (!stream?.originNode || stream.origin) continue;
      if (!this.sessions.onStream(streamId)) this.closeStream(streamId);
      else
        this.pullFromNode(streamId, stream.originNode).catch((err: unknown) =>
          this.options.logger.warn({ err, streamId }, 'could not pull a stream again'),
        );
    }
    const replacement = setTimeout(() => {
      if (!this.closing) this.workers[worker.index] = this.spawn(worker.index);
    }, 200);
    replacement.unref();
  }
}
