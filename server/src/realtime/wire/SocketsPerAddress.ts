/** What one more socket from an address gets. */
export type Admission =
  /** A socket like any other. */
  | 'admit'
  /** Opened only to be told `rate_limited` (a Socket.IO client shows that as `connect_error`). */
  | 'refuse'
  /** Not even upgraded: its address already holds as many connections as a node will keep. */
  | 'reject';

/**
 * Open sockets per client address on this node (issue 16: one address opened 5,000 and, under a
 * low descriptor limit, locked everyone else out). Up to `cap` are admitted; the next ones, up
 * to the hard bound of twice the cap, are opened only to be refused in words a client
 * understands, and close at once (or at the connect deadline if the client never asks); beyond
 * that an address gets no more descriptors at all. Existing sockets are never touched.
 */
export class SocketsPerAddress {
  /** The same string for every socket of one address, so each socket keeps only a reference. */
  private readonly open = new Map<string, { address: string; sockets: number }>();
  readonly hardBound: number;

  /** `cap`: sockets one address may hold open at once; Infinity for no cap. */
  constructor(readonly cap: number) {
    this.hardBound = cap * 2;
  }

  /** Whether an upgrade from `address` may go ahead (it is counted once it opens). */
  mayUpgrade(address: string): boolean {
    return this.countOf(address) < this.hardBound;
  }

  /**
   * Counts a socket that opened: whether it is admitted, and the address to keep on it (given
   * back to `remove` when it closes).
   */
  add(address: string): { address: string; admission: Admission } {
    let entry = this.open.get(address);
    if (!entry) this.open.set(address, (entry = { address, sockets: 0 }));
    const admission: Admission =
      entry.sockets < this.cap ? 'admit' : entry.sockets < this.hardBound ? 'refuse' : 'reject';
    entry.sockets += 1;
    return { address: entry.address, admission };
  }

  remove(address: string): void {
    const entry = this.open.get(address);
    if (!entry) return;
    entry.sockets -= 1;
    if (entry.sockets <= 0) this.open.delete(address);
  }

  countOf(address: string): number {
    return this.open.get(address)?.sockets ?? 0;
  }
}
