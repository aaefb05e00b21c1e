import { REACTIONS, type Reaction } from '@onair/protocol';
import { AnimatePresence, motion, useReducedMotion } from 'framer-motion';
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';

interface Floating {
  key: string;
  reaction: Reaction;
  left: number;
  /** Seconds after the event that this one sets off, so a burst rises as a stream, not a clump. */
  delay: number;
}

/** At most this many emojis float up for one event, however many reactions it counts. */
const perEventMax = 8;
/** At most this many are on screen at once; the oldest make way. */
const onScreenMax = 30;
const staggerSeconds = 0.12;
const riseSeconds = 2.2;

let nextKey = 0;

/**
 * Reactions from everyone in the room, floating up over the video. The server coalesces them
 * (one event per emoji per 250 ms with a `count`): each event sets off `count` emojis, capped.
 */
export function FloatingReactions({ streamId }: { streamId: string }) {
  const { socket } = useAuth();
  const [items, setItems] = useState<Floating[]>([]);
  const reduced = useReducedMotion();
  useEffect(() => {
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const off = socket.on('live_reaction_received', (r) => {
      if (r.streamId !== streamId) return;
      const burst = Array.from({ length: Math.min(Math.max(r.count, 1), perEventMax) }, (_, i) => ({
        key: `reaction-${(nextKey += 1)}`,
        reaction: r.reaction,
        left: 10 + Math.random() * 70,
        delay: i * staggerSeconds,
      }));
      const keys = new Set(burst.map((item) => item.key));
      setItems((list) => [...list, ...burst].slice(-onScreenMax));
      const lastsMs = ((burst.at(-1)?.delay ?? 0) + riseSeconds) * 1000 + 300;
      const timer = setTimeout(() => {
        timers.delete(timer);
        setItems((list) => list.filter((item) => !keys.has(item.key)));
      }, lastsMs);
      timers.add(timer);
    });
    return () => {
      off();
      for (const timer of timers) clearTimeout(timer);
    };
  }, [socket, streamId]);
  return (
    <div className="pointer-events-none absolute inset-0 overflow-hidden" aria-hidden>
      <AnimatePresence>
        {items.map((item) => (
          <motion.span
            key={item.key}
            data-testid="floating-reaction"
            className="absolute bottom-16 text-3xl"
            style={{ left: `${item.left}%` }}
            initial={{ opacity: 0, y: 0 }}
            animate={{ opacity: [0, 1, 1, 0], y: reduced ? 0 : -220 }}
            exit={{ opacity: 0 }}
            transition={{ duration: reduced ? 0.5 : riseSeconds, delay: item.delay }}
          >
            {item.reaction}
          </motion.span>
        ))}
      </AnimatePresence>
    </div>
  );
}

export function ReactionBar({
  streamId,
  onError,
}: {
  streamId: string;
  onError: (message: string) => void;
}) {
  const { socket } = useAuth();
  /** The toolbar's one tab stop (issue 18: six reactions were six Tab presses on the way to chat). */
  const [current, setCurrent] = useState(0);
  const bar = useRef<HTMLDivElement>(null);
  const onKeyDown = (event: KeyboardEvent) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = (current + step + REACTIONS.length) % REACTIONS.length;
    setCurrent(next);
    bar.current?.querySelectorAll<HTMLButtonElement>('button')[next]?.focus();
  };
  return (
    <div
      ref={bar}
      className="flex gap-1"
      role="toolbar"
      aria-label="Send a reaction"
      onKeyDown={onKeyDown}
    >
      {REACTIONS.map((reaction, i) => (
        <button
          key={reaction}
          type="button"
          tabIndex={i === current ? 0 : -1}
          onFocus={() => setCurrent(i)}
          aria-label={`React ${reaction}`}
          className="rounded-full bg-zinc-800 px-2 py-1 text-lg hover:bg-zinc-700"
          onClick={() => {
            socket
              .request('live_reaction', { streamId, reaction })
              .catch((e: unknown) => onError(describeError(e)));
          }}
        >
          {reaction}
        </button>
      ))}
    </div>
  );
}
