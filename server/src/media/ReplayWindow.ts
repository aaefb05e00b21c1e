/** Counters remembered per sender: a datagram this far behind the newest is too old to accept. */
const windowSize = 1024;
/** Senders remembered (each worker process is one, with a new prefix each start). */
const maxSenders = 256;

/**
 * Refuses relay datagrams seen before, as SRTP's replay list does (RFC 3711 §3.3.2): each sender
 * (its nonce prefix) has a window of its latest counters; a counter inside the window that was
 * already accepted, or one older than the window, is a replay.
 */
export class ReplayWindow {
  private readonly senders = new Map<number, { newest: number; seen: Float64Array }>();

  /** Whether (`sender`, `counter`) is new; it is then remembered. */
  accept(sender: number, counter: number): boolean {
    let state = this.senders.get(sender);
    if (!state) {
      if (this.senders.size >= maxSenders) {
        const oldest = this.senders.keys().next().value;
        if (oldest !== undefined) this.senders.delete(oldest);
      }
      state = { newest: 0, seen: new Float64Array(windowSize).fill(-1) };
      this.senders.set(sender, state);
    }
    if (counter + windowSize <= state.newest) return false;
    const slot = counter % windowSize;
    if (state.seen[slot] === counter) return false;
    state.seen[slot] = counter;
    if (counter > state.newest) state.newest = counter;
    return true;
  }
}
