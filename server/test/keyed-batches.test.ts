import { describe, expect, it } from 'vitest';
import { KeyedBatches, type Settlement } from '../src/live/KeyedBatches';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A writer that records each batch and answers each item with itself doubled, slowly. */
function recorder(ms = 20) {
  const batches: { key: string; items: number[] }[] = [];
  let writing = 0;
  let mostAtOnce = 0;
  const write = async (key: string, items: number[]): Promise<Settlement<number>[]> => {
    batches.push({ key, items });
    writing += 1;
    mostAtOnce = Math.max(mostAtOnce, writing);
    await sleep(ms);
    writing -= 1;
    return items.map((n) =>
      n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: n * 2 },
    );
  };
  return { batches, write, mostAtOnce: () => mostAtOnce };
}

describe('KeyedBatches', () => {
  it('writes what arrives together as one batch, and what arrives during a write as the next', async () => {
    const r = recorder();
    const batches = new KeyedBatches(r.write, 100);
    const first = [1, 2, 3].map((n) => batches.submit('s', n));
    await sleep(5);
    // The first batch is being written: these wait for it and go together.
    const second = [4, 5].map((n) => batches.submit('s', n));
    expect(await Promise.all([...first, ...second])).toEqual([2, 4, 6, 8, 10]);
    expect(r.batches).toEqual([
      { key: 's', items: [1, 2, 3] },
      { key: 's', items: [4, 5] },
    ]);
  });

  it('writes one batch at a time per key, keys side by side, and at most maxBatch items each', async () => {
    const r = recorder();
    const batches = new KeyedBatches(r.write, 2);
    const results = await Promise.all([
      ...[1, 2, 3, 4, 5].map((n) => batches.submit('a', n)),
      batches.submit('b', 7),
    ]);
    expect(results).toEqual([2, 4, 6, 8, 10, 14]);
    expect(r.batches.filter((b) => b.key === 'a').map((b) => b.items)).toEqual([
      [1, 2],
      [3, 4],
      [5],
    ]);
    // 'b' was written beside 'a', never two of 'a' at once.
    expect(r.mostAtOnce()).toBe(2);
  });

  it('settles each item on its own, and fails a whole batch whose write throws, then goes on', async () => {
    let calls = 0;
    const batches = new KeyedBatches<number, number>(async (_key, items) => {
      calls += 1;
      if (calls === 1) throw new Error('database gone');
      return items.map((n) =>
        n < 0 ? { ok: false, error: new Error('negative') } : { ok: true, value: n },
      );
    }, 10);
    const failed = await Promise.allSettled([batches.submit('s', 1), batches.submit('s', 2)]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    const mixed = await Promise.allSettled([batches.submit('s', 3), batches.submit('s', -1)]);
    expect(mixed[0]).toEqual({ status: 'fulfilled', value: 3 });
    expect(mixed[1]).toMatchObject({ status: 'rejected', reason: new Error('negative') });
  });
});
