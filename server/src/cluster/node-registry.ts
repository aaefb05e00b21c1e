import type { Logger } from 'pino';
import { SafeEmitter } from '../events/SafeEmitter';

/** One node of the deployment as it last announced itself. */
export interface NodeInfo {
  nodeId: string;
  /** Where clients reach it directly (NODE_URL, PUBLIC_URL or its listen address). */
  url: string;
  /** Media viewer sessions (WHEP and socket watching) it holds. */
  mediaViewers: number;
  /** MEDIA_MAX_VIEWERS_PER_NODE; null is no limit. */
  mediaViewerCap: number | null;
  /** Shutting down: it takes no new sessions. */
  draining: boolean;
  /** When this run of it started (a node restarted under the same id is a new run). */
  startedAt: Date;
}

/** What a node says of itself in each heartbeat. */
export interface NodeLoad {
  mediaViewers: number;
  mediaViewerCap: number | null;
  draining: boolean;
}

/** Where the registry keeps the nodes' heartbeats (PostgreSQL: `db/node-rows.ts`). */
export interface NodeStore {
  /**
   * Writes this node's row with a fresh heartbeat; `newRun` restarts its `startedAt`. Resolves
   * with the row's `startedAt`.
   */
  announce(nodeId: string, url: string, load: NodeLoad, newRun: boolean): Promise<Date>;
  /** The nodes whose last heartbeat is at most `seconds` old. */
  heartbeatWithin(seconds: number): Promise<NodeInfo[]>;
  remove(nodeId: string): Promise<void>;
  /** Removes the rows of nodes silent for `seconds` or more. */
  forgetSilentFor(seconds: number): Promise<void>;
}

export interface NodeRegistryEvents {
  /** A node (or a run of it) was first seen alive. */
  node_joined: [node: NodeInfo];
  /**
   * A node stopped heartbeating, left, or was restarted (its earlier run is gone): what it held
   * is gone with it. Told once per run of a node.
   */
  node_gone: [node: NodeInfo];
}

export interface NodeRegistryOptions {
  store: NodeStore;
  nodeId: string;
  /** This node's URL; read at each heartbeat (it is known once the node listens). */
  url: () => string;
  /** This node's load and state, read at each heartbeat. */
  load: () => NodeLoad;
  logger: Logger;
  /** How often this node heartbeats and reads the others. Default 2 s. */
  heartbeatMs?: number;
  /** A node whose last heartbeat is older than this is gone. Default 7 s. */
  goneAfterMs?: number;
}

/** How long closing waits to remove this node's row. */
const closeWaitMs = 1500;

/** Resolves when `work` settles or after `ms`, whichever is first. */
const within = (work: Promise<unknown>, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    work.then(done, done);
  });

/** Rows of nodes gone this long are removed (nodes started with fresh ids would pile up). */
const forgetAfterSeconds = 600;

/**
 * The deployment's live nodes, kept in a shared store (PostgreSQL). Each node rewrites its own
 * row every `heartbeatMs` and reads everyone's in the same round; a node whose heartbeat is older
 * than `goneAfterMs` by the database's clock is gone. With the defaults (2 s, 7 s) a node that
 * dies is noticed by the others within 9 s plus one query (issue 17: within 10 s).
 *
 * While the database cannot be read, the last view stands: a node cut off from it decides
 * nothing about the others (anything that would act on a death needs the database anyway).
 */
export class NodeRegistry extends SafeEmitter<NodeRegistryEvents> {
  private readonly heartbeatMs: number;
  private readonly goneAfterMs: number;
  /** The other live nodes, by id, as the database last said. */
  private others = new Map<string, NodeInfo>();
  private startedAt = new Date();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private failing = false;
  private announced = false;
  /** Whether the others have been read once: before that, no node can be called gone. */
  private known = false;
  private closed = false;

  constructor(private readonly options: NodeRegistryOptions) {
    super((err, event) => options.logger.error({ err, event }, 'node registry listener failed'));
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.goneAfterMs = options.goneAfterMs ?? 7000;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Announces this node and reads the others once, then keeps doing so on a timer. */
  async start(): Promise<void> {
    if (this.timer || this.closed) return;
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Whether `nodeId` is alive: this node, or one whose heartbeat is recent. Until the others have
   * been read once every node counts as alive, so a node just started cannot take a live
   * publisher's stream away from a node it has not heard of yet.
   */
  isAlive(nodeId: string): boolean {
    if (nodeId === this.options.nodeId) return !this.closed;
    return !this.known || this.others.has(nodeId);
  }

  /** This node as it is now. */
  self(): NodeInfo {
    return {
      nodeId: this.options.nodeId,
      url: this.options.url(),
      ...this.options.load(),
      startedAt: this.startedAt,
    };
  }

  /** Every live node, this one first (with its current load; the others' are up to a heartbeat old). */
  nodes(): NodeInfo[] {
    return [this.self(), ...this.others.values()];
  }

  /**
   * Heartbeats now (e.g. this node started draining) unless a heartbeat is already under way.
   * Never waits more than `waitMs`: a database that stopped answering holds a heartbeat forever.
   */
  beat(waitMs = 2000): Promise<void> {
    this.round ??= this.heartbeat().finally(() => (this.round = undefined));
    return within(this.round, waitMs);
  }

  /**
   * Stops heartbeating and removes this node's row: the others see it gone at their next read.
   * Waits for the database at most a moment; without it, the others notice the silence instead.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const { store, nodeId, logger } = this.options;
    // After the heartbeat under way, which would otherwise write the row back.
    const removed = (this.round ?? Promise.resolve()).then(() => store.remove(nodeId));
    await within(
      removed.catch((err: unknown) =>
        logger.warn({ err }, 'could not remove this node from the registry'),
      ),
      closeWaitMs,
    );
  }

  private async heartbeat(): Promise<void> {
    if (this.closed) return;
    const { store, nodeId } = this.options;
    try {
      this.startedAt = await store.announce(
        nodeId,
        this.options.url(),
        this.options.load(),
        !this.announced,
      );
      this.announced = true;
      const nodes = await store.heartbeatWithin(this.goneAfterMs / 1000);
      if (this.closed) return;
      this.update(nodes.filter((node) => node.nodeId !== nodeId));
      this.known = true;
      if (this.failing) this.options.logger.info('node registry reachable again');
      this.failing = false;
      // Now and then (about once a minute over the deployment's nodes) rows of nodes long gone
      // are removed; any node may do it.
      if (Math.random() < this.heartbeatMs / 60_000)
        await store.forgetSilentFor(forgetAfterSeconds);
    } catch (err) {
      if (!this.failing)
        this.options.logger.warn({ err }, 'node registry: heartbeat failed; keeping the last view');
      this.failing = true;
    }
  }

  private update(nodes: NodeInfo[]): void {
    const next = new Map(nodes.map((node) => [node.nodeId, node]));
    const before = this.others;
    this.others = next;
    for (const [id, node] of before) {
      const now = next.get(id);
      if (!now || now.startedAt.getTime() !== node.startedAt.getTime()) {
        this.options.logger.warn({ nodeId: id, url: node.url }, 'node gone');
        this.emit('node_gone', node);
      }
    }
    for (const [id, node] of next) {
      const earlier = before.get(id);
      if (!earlier || earlier.startedAt.getTime() !== node.startedAt.getTime()) {
        this.options.logger.info({ nodeId: id, url: node.url }, 'node joined');
        this.emit('node_joined', node);
      }
    }
  }
}
