/** What one item of a batch came to: its result, or the error its caller gets. */
export type Settlement<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

interface Waiting<Item, Result> {
  item: Item;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Work on one key (a stream) written in batches, one batch at a time per key: what arrives while
 * a batch is being written waits and goes into the next one (group commit). A burst of requests
 * then costs a few writes instead of one each, and a request that arrives alone waits for nothing
 * but the end of the current turn of the event loop. Items keep their order: a batch holds the
 * oldest waiting items, and `write` settles them in the order given.
 */
export class KeyedBatches<Item, Result> {
  readonly #waiting = new Map<string, Waiting<Item, Result>[]>();

  /**
   * @param write writes one batch of one key and settles each item, in order; a rejection
   *   fails every item of the batch.
   * @param maxBatch items in one batch at most (a statement's parameters are bounded).
   */
  constructor(
    private readonly write: (key: string, items: Item[]) => Promise<Settlement<Result>[]>,
    private readonly maxBatch: number,
  ) {}

  submit(key: string, item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const queue = this.#waiting.get(key);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      this.#waiting.set(key, [{ item, resolve, reject }]);
      // What else arrives in this turn of the event loop (a burst's frames are read together)
      // goes into the first batch too.
      setImmediate(() => void this.#drain(key));
    });
  }

  async #drain(key: string): Promise<void> {
    const queue = this.#waiting.get(key);
    if (!queue) return;
    while (queue.length > 0) {
      const batch = queue.splice(0, this.maxBatch);
      let settled: Settlement<Result>[];
      try {
        settled = await this.write(
          key,
          batch.map((w) => w.item),
        );
      } catch (error) {
        settled = batch.map(() => ({ ok: false, error }));
      }
      batch.forEach((waiting, i) => {
        const outcome = settled[i] ?? { ok: false, error: new Error('batch item not settled') };
        if (outcome.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome.error);
      });
    }
    this.#waiting.delete(key);
  }
}
