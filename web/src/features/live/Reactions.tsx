import { REACTIONS, type Reaction } from '@onair/protocol';
import { AnimatePresence, motion, useReducedMotion } from 'framer-motion';
import { useEffect, useState } from 'react';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';

interface Floating {
  key: string;
  reaction: Reaction;
  left: number;
}

/** Reactions from everyone in the room, floating up over the video. */
export function FloatingReactions({ streamId }: { streamId: string }) {
  const { socket } = useAuth();
  const [items, setItems] = useState<Floating[]>([]);
  const reduced = useReducedMotion();
  useEffect(
    () =>
      socket.on('live_reaction_received', (r) => {
        if (r.streamId !== streamId) return;
        const item = {
          key: `${r.timestamp}-${r.userId}-${Math.random()}`,
          reaction: r.reaction,
          left: 10 + Math.random() * 70,
        };
        setItems((list) => [...list.slice(-20), item]);
        setTimeout(() => setItems((list) => list.filter((i) => i.key !== item.key)), 2500);
      }),
    [socket, streamId],
  );
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
            transition={{ duration: reduced ? 0.5 : 2.2 }}
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
  return (
    <div className="flex gap-1" role="group" aria-label="Send a reaction">
      {REACTIONS.map((reaction) => (
        <button
          key={reaction}
          type="button"
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
