/** Why `FairQueue.run` refused a job: its client's share of the queue, or the whole queue, is full. */
export class QueueFullError extends Error {
  constructor(readonly scope: 'client' | 'all') {
    super(scope === 'client' ? 'This client has too many jobs waiting' : 'The queue is full');
    this.name = 'QueueFullError';
  }
}

export interface FairQueueOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting, over all clients; beyond it new jobs are refused. */
  maxWaiting: number;
  /** Jobs one client may have waiting; beyond it that client's new jobs are refused. */
  maxWaitingPerClient: number;
}

/**
 * Runs at most `concurrency` jobs at once; waiting clients take turns (round robin), so a burst
 * from one client delays another client's job by at most one of the burst's jobs per free slot,
 * instead of by the whole burst as a first-come queue would.
 */
export class FairQueue {
  private running = 0;
  private waiting = 0;
  /** Each client's waiting jobs; the map's order is the order of turns. */
  private readonly turns = new Map<string, (() => void)[]>();

  constructor(private readonly options: FairQueueOptions) {}

  async run<T>(client: string, job: () => Promise<T>): Promise<T> {
    if (this.running < this.options.concurrency && this.waiting === 0) {
      this.running += 1;
      return this.execute(job);
    }
    const queue = this.turns.get(client) ?? [];
    if (queue.length >= this.options.maxWaitingPerClient) throw new QueueFullError('client');
    if (this.waiting >= this.options.maxWaiting) throw new QueueFullError('all');
    await new Promise<void>((start) => {
      queue.push(start);
      this.turns.set(client, queue);
      this.waiting += 1;
    });
    return this.execute(job);
  }

  /** Jobs running and waiting now. */
  get size(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting };
  }

  /** Runs a job whose slot is already counted in `running`, then hands the slot on. */
  private async execute<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await job();
    } finally {
      this.running -= 1;
      this.startNext();
    }
  }

  private startNext(): void {
    const turn = this.turns.entries().next();
    if (turn.done || this.running >= this.options.concurrency) return;
    const [client, queue] = turn.value;
    const start = queue.shift();
    // This client goes to the back of the line, behind every other client waiting.
    this.turns.delete(client);
    if (queue.length > 0) this.turns.set(client, queue);
    if (!start) return;
    this.waiting -= 1;
    this.running += 1;
    start();
  }
}
