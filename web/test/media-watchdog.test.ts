/**
 * The web app's media watchdog (issue 17): a viewer or broadcaster whose media connection fails,
 * or stays disconnected, connects again on its own. The connection here stands in for the
 * browser's RTCPeerConnection, whose state changes the test drives.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  disconnectedGraceMs,
  retryDelayMs,
  watchMedia,
  type WatchedConnection,
} from '../src/lib/media-watchdog';

class Connection implements WatchedConnection {
  connectionState: RTCPeerConnectionState = 'connected';
  private readonly listeners = new Set<() => void>();
  addEventListener(_type: 'connectionstatechange', listener: () => void): void {
    this.listeners.add(listener);
  }
  removeEventListener(_type: 'connectionstatechange', listener: () => void): void {
    this.listeners.delete(listener);
  }
  set(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    for (const listener of [...this.listeners]) listener();
  }
  get listening(): number {
    return this.listeners.size;
  }
}

describe('media watchdog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('gives up a failed connection at once, and only once', () => {
    const pc = new Connection();
    const lost = vi.fn();
    watchMedia(pc, lost);
    pc.set('failed');
    pc.set('failed');
    expect(lost).toHaveBeenCalledTimes(1);
    expect(pc.listening).toBe(0);
  });

  it('gives up a connection still disconnected after the grace, not one that comes back in time', () => {
    const pc = new Connection();
    const lost = vi.fn();
    watchMedia(pc, lost);
    pc.set('disconnected');
    vi.advanceTimersByTime(disconnectedGraceMs - 100);
    pc.set('connected');
    vi.advanceTimersByTime(disconnectedGraceMs * 2);
    expect(lost).not.toHaveBeenCalled();

    pc.set('disconnected');
    vi.advanceTimersByTime(disconnectedGraceMs);
    expect(lost).toHaveBeenCalledTimes(1);
    // Back within the 5 s a viewer of a dead node has, with time left to connect again.
    expect(disconnectedGraceMs).toBeLessThanOrEqual(2000);
  });

  it('notices a connection that had already failed when watching began', () => {
    const pc = new Connection();
    pc.connectionState = 'failed';
    const lost = vi.fn();
    watchMedia(pc, lost);
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('stops watching when told: a closed connection is no loss', () => {
    const pc = new Connection();
    const lost = vi.fn();
    const stop = watchMedia(pc, lost);
    pc.set('disconnected');
    stop();
    vi.advanceTimersByTime(disconnectedGraceMs * 2);
    pc.set('failed');
    expect(lost).not.toHaveBeenCalled();
    expect(pc.listening).toBe(0);
  });

  it('tries again at once after a first loss, then backs off up to 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(retryDelayMs)).toEqual([
      0, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });
});
