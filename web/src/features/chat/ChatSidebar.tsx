import type { ChatState } from '@onair/protocol';
import { MessageSquare, Shield } from 'lucide-react';
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useAuth } from '../auth/AuthContext';
import { ModerationPanel } from '../moderation/ModerationPanel';
import { useModeration } from '../moderation/useModeration';
import { LiveChat } from './LiveChat';
import type { ChatFeed } from './useChatFeed';
import { useChatStanding } from './useChatStanding';

type Tab = 'chat' | 'moderation';

const tabClass = (selected: boolean) =>
  `flex flex-1 items-center justify-center gap-1.5 border-b-2 px-3 py-2 text-sm font-medium ${
    selected
      ? 'border-rose-500 text-zinc-100'
      : 'border-transparent text-zinc-400 hover:text-zinc-200'
  }`;

/**
 * The stream's chat beside the video. The host and moderators also get a Moderation tab; the
 * chat stays mounted under it so no message is missed while the panel is open.
 */
export function ChatSidebar({
  streamId,
  hostId,
  disabled = false,
  chat,
  banned = false,
  feed,
}: {
  streamId: string;
  hostId: string;
  disabled?: boolean;
  /** Where this user stands in the chat, from joining the room. */
  chat: ChatState | null;
  /** The room says the host banned this user. */
  banned?: boolean;
  /** The comments shown, kept by the page so the room's rejoins can catch the chat up. */
  feed: ChatFeed;
}) {
  const { session } = useAuth();
  const { standing, noteTimedOut, noteBanned } = useChatStanding(streamId, chat, banned);
  const canModerate =
    session !== null && (standing.role === 'host' || standing.role === 'moderator');
  const moderation = useModeration(streamId, canModerate);
  const [tab, setTab] = useState<Tab>('chat');
  const ids = useId();
  const tabs = useRef<HTMLDivElement>(null);

  // A moderator who loses the role goes back to the chat.
  useEffect(() => {
    if (!canModerate) setTab('chat');
  }, [canModerate]);
  // The log may have grown from other moderators' actions: fresh on every opening.
  const { reload } = moderation;
  useEffect(() => {
    if (tab === 'moderation') void reload();
  }, [tab, reload]);

  // Arrow keys move between the tabs (WAI-ARIA tabs pattern).
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    event.preventDefault();
    const next: Tab = tab === 'chat' ? 'moderation' : 'chat';
    setTab(next);
    tabs.current?.querySelector<HTMLElement>(`[data-tab="${next}"]`)?.focus();
  };

  const chatPanel = (
    <LiveChat
      streamId={streamId}
      hostId={hostId}
      feed={feed}
      disabled={disabled}
      standing={standing}
      moderation={canModerate ? moderation : null}
      onTimedOut={noteTimedOut}
      onBanned={noteBanned}
    />
  );
  if (!canModerate || !session) return chatPanel;

  return (
    <div className="flex h-full min-h-0 min-w-0 flex-col">
      <div
        ref={tabs}
        role="tablist"
        aria-label="Chat and moderation"
        className="flex shrink-0 border-b border-zinc-800"
        onKeyDown={onKeyDown}
      >
        {(['chat', 'moderation'] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`${ids}-${t}-tab`}
            aria-selected={tab === t}
            aria-controls={`${ids}-${t}`}
            tabIndex={tab === t ? 0 : -1}
            data-tab={t}
            className={tabClass(tab === t)}
            onClick={() => setTab(t)}
          >
            {t === 'chat' ? (
              <MessageSquare className="h-4 w-4" aria-hidden />
            ) : (
              <Shield className="h-4 w-4" aria-hidden />
            )}
            {t === 'chat' ? 'Chat' : 'Moderation'}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`${ids}-chat`}
        aria-labelledby={`${ids}-chat-tab`}
        hidden={tab !== 'chat'}
        className="min-h-0 flex-1"
      >
        {chatPanel}
      </div>
      <div
        role="tabpanel"
        id={`${ids}-moderation`}
        aria-labelledby={`${ids}-moderation-tab`}
        hidden={tab !== 'moderation'}
        className="flex min-h-0 flex-1 flex-col"
      >
        {tab === 'moderation' && (
          <ModerationPanel
            moderation={moderation}
            isHost={standing.role === 'host'}
            token={session.token}
          />
        )}
      </div>
    </div>
  );
}
