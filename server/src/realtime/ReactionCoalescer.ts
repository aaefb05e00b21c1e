import type { LiveReaction, Reaction } from '@onair/protocol';
import type { SentReaction } from '../live/events';

/** How long a room's reactions of one emoji are counted before they go out as one event (issue 11). */
export const reactionWindowMs = 250;

/** One emoji's open window in one stream: what has come in since its last event went out. */
interface Window {
  timer: NodeJS.Timeout;
  count: number;
  /** The only sender so far, while there has been just one. */
  sender: { userId: string; username: string } | undefined;
}

/**
 * Coalesces reactions so a room hears at most one event per emoji per window. The first reaction
 * after a quiet spell goes out at once (count 1, naming its sender) and opens a window; the ones
 * arriving within it go out together when it closes, which opens the next window, until one
 * closes empty. Each node coalesces the reactions its own sockets receive: with several nodes a
 * room hears at most one event per emoji per window from each.
 */
export class ReactionCoalescer {
  /** Open windows, per stream then per emoji. */
  readonly #windows = new Map<string, Map<Reaction, Window>>();

  constructor(
    private readonly send: (reaction: LiveReaction) => void,
    private readonly windowMs = reactionWindowMs,
  ) {}

  add(sent: SentReaction): void {
    const open = this.#windows.get(sent.streamId)?.get(sent.reaction);
    if (!open) {
      this.#emit(sent.streamId, sent.reaction, 1, sent);
      return;
    }
    open.count += 1;
    open.sender = open.count === 1 ? { userId: sent.userId, username: sent.username } : undefined;
  }

  /** Forgets a stream's open windows, and what they counted: its room hears nothing more. */
  drop(streamId: string): void {
    for (const open of this.#windows.get(streamId)?.values() ?? []) clearTimeout(open.timer);
    this.#windows.delete(streamId);
  }

  /** Clears every timer; idempotent. */
  close(): void {
    for (const streamId of [...this.#windows.keys()]) this.drop(streamId);
  }

  /** Sends `count` reactions and opens the window that counts the next ones. */
  #emit(
    streamId: string,
    reaction: Reaction,
    count: number,
    sender: { userId: string; username: string } | undefined,
  ): void {
    let windows = this.#windows.get(streamId);
    if (!windows) this.#windows.set(streamId, (windows = new Map()));
    const timer = setTimeout(() => this.#close(streamId, reaction), this.windowMs);
    windows.set(reaction, { timer, count: 0, sender: undefined });
    this.send({
      streamId,
      reaction,
      count,
      userId: count === 1 ? (sender?.userId ?? null) : null,
      username: count === 1 ? (sender?.username ?? null) : null,
      timestamp: new Date().toISOString(),
    });
  }

  #close(streamId: string, reaction: Reaction): void {
    const windows = this.#windows.get(streamId);
    const open = windows?.get(reaction);
    if (!windows || !open) return;
    windows.delete(reaction);
    if (open.count > 0) this.#emit(streamId, reaction, open.count, open.sender);
    else if (windows.size === 0) this.#windows.delete(streamId);
  }
}
