import { describe, expect, it } from 'vitest';
import { MessageBudget } from '../src/realtime/wire/MessageBudget';

/** The per-socket token bucket of issue 16, on a clock the test moves by hand. */
describe('a socket message budget', () => {
  const budget = new MessageBudget({ perSecond: 20, burst: 60, disconnectAfterMs: 10_000 });

  it('lets a new socket send a burst at once, then as fast as the rate refills it', () => {
    const state = budget.opened(0);
    for (let i = 0; i < 60; i += 1) expect(budget.spend(state, 0)).toBe('allowed');
    expect(budget.spend(state, 0)).toBe('refused');
    expect(budget.retryAfterSeconds(state)).toBeCloseTo(0.05);
    // One message per 50 ms from then on.
    expect(budget.spend(state, 50)).toBe('allowed');
    expect(budget.spend(state, 60)).toBe('refused');
    expect(budget.spend(state, 100)).toBe('allowed');
  });

  it('never holds more than a burst, however long the socket was quiet', () => {
    const state = budget.opened(0);
    budget.spend(state, 3_600_000);
    expect(state.balance).toBe(59);
  });

  it('disconnects a socket that stays over budget, served at the rate all along', () => {
    const state = budget.opened(0);
    let allowed = 0;
    let verdict = 'allowed';
    // 1,500 messages a second.
    for (let t = 0; verdict !== 'disconnect'; t += 2 / 3) {
      verdict = budget.spend(state, Math.round(t));
      if (verdict === 'allowed') allowed += 1;
      expect(t).toBeLessThan(11_000);
    }
    expect(state.overSince).toBeGreaterThan(0);
    // The burst, then 20 a second for the 10 s over budget.
    expect(allowed).toBeGreaterThan(60 + 190);
    expect(allowed).toBeLessThan(60 + 210);
  });

  it('forgives a socket that backs off, so a brief excess never adds up to a disconnect', () => {
    const state = budget.opened(0);
    let now = 0;
    for (let round = 0; round < 20; round += 1) {
      // Over budget for a moment: a burst and then some.
      while (budget.spend(state, now) === 'allowed') now += 1;
      expect(budget.spend(state, now)).toBe('refused');
      // Then quiet for a second (twenty messages earned back).
      now += 1000;
    }
    expect(budget.spend(state, now)).toBe('allowed');
    expect(state.overSince).toBe(0);
  });
});
