/**
 * Probes every 250 ms until `ok` holds or `ms` pass; returns the last value either way, so the
 * test's own assertion says what was seen.
 */
export async function until<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    value = await probe();
  }
  return value;
}
