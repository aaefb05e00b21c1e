import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { childProcessEntry } from '../child-process-entry';
import type {
  MainToWorker,
  LayersEvent,
  RecordingEvent,
  MediaEvent,
  ReplyOf,
  WorkerError,
  WorkerRequest,
  WorkerSettings,
  WorkerStats,
  WorkerToMain,
} from './ipc';
import { MediaError } from './MediaError';

/** The compiled worker beside the compiled server, or the TypeScript one when run from sources. */
const workerEntry = childProcessEntry(import.meta.url, 'worker-main');

export interface MediaWorkerOptions {
  index: number;
  settings: WorkerSettings;
  logger: Logger;
  /** How long a request may take before it fails, unless the call says otherwise. */
  requestTimeoutMs: number;
  /** A media event the worker reported. */
  onEvent(worker: MediaWorker, event: MediaEvent | LayersEvent | RecordingEvent): void;
  /** The process ended, whoever ended it; every pending request has failed by then. */
  onExit(worker: MediaWorker, code: number | null, signal: NodeJS.Signals | null): void;
}

const restarting = () => new MediaError('unavailable', 'The media server is restarting');

/**
 * One media worker process and its channel (mediasoup's Worker): started with `fork`, ready once
 * it reports its relay port, steered by requests that each get one reply, and gone on exit.
 */
export class MediaWorker {
  readonly index: number;
  /** Resolves once the process runs; rejects if it exits first. */
  readonly ready: Promise<void>;
  relayPort = 0;
  /** Its port for relay datagrams from and to other nodes. */
  nodeRelayPort = 0;
  alive = true;
  lastStats: WorkerStats | undefined;
  /** Resident memory soon after start, to see growth against. */
  baselineRss: number | undefined;

  private readonly child: ChildProcess;
  private readonly pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: unknown): void }
  >();
  private nextRequestId = 1;
  private markReady: () => void = () => undefined;

  constructor(private readonly options: MediaWorkerOptions) {
    const { index, settings, logger } = options;
    this.index = index;
    this.child = fork(workerEntry.path, [], {
      // A server started under --cpu-prof (the benchmark's --profile) profiles its workers too.
      execArgv: [
        ...process.execArgv.filter((a) => a.startsWith('--cpu-prof')),
        ...workerEntry.execArgv,
      ],
      env: { ...process.env, ONAIR_MEDIA_WORKER: JSON.stringify(settings) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let failStart: (e: unknown) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      failStart = reject;
    });
    // Nobody may be waiting yet; a start failure is also reported by 'exit'.
    this.ready.catch(() => undefined);
    this.child.on('message', (message: WorkerToMain) => this.receive(message));
    this.child.on('error', (err) => logger.error({ err, worker: index }, 'media worker error'));
    this.child.once('exit', (code, signal) => {
      failStart(restarting());
      this.alive = false;
      for (const pending of this.pending.values()) pending.reject(restarting());
      this.pending.clear();
      options.onExit(this, code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<T extends WorkerRequest>(
    request: T,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<ReplyOf<T['type']>> {
    return this.ready.then(
      () =>
        new Promise<ReplyOf<T['type']>>((resolve, reject) => {
          if (!this.alive) return reject(restarting());
          const id = this.nextRequestId++;
          const timer = setTimeout(() => {
            this.pending.delete(id);
            reject(new MediaError('unavailable', 'The media server did not answer'));
          }, timeoutMs);
          this.pending.set(id, {
            resolve: (v) => {
              clearTimeout(timer);
              resolve(v as ReplyOf<T['type']>);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          this.child.send({ id, request } satisfies MainToWorker);
        }),
    );
  }

  /** Asks the worker to close its connections and exit; killed if it has not after `deadlineMs`. */
  stop(deadlineMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.alive) return resolve();
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, deadlineMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.call({ type: 'shutdown' }, 5000).catch(() => undefined);
    });
  }

  private receive(message: WorkerToMain): void {
    if ('id' in message) {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(this.toError(message.error));
      return;
    }
    if (message.event === 'ready') {
      this.relayPort = message.relayPort;
      this.nodeRelayPort = message.nodeRelayPort;
      this.markReady();
      return;
    }
    this.options.onEvent(this, message);
  }

  private toError(error: WorkerError): Error {
    if (error.detail) this.options.logger.info({ detail: error.detail }, error.message);
    if (error.reason === 'internal') return new Error(error.message);
    return new MediaError(error.reason, error.message, error.detail);
  }
}
