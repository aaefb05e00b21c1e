import type { ChatState } from '@onair/protocol';
import { ChatSidebar } from '../chat/ChatSidebar';
import type { ChatFeed } from '../chat/useChatFeed';
import { JoinNotices } from './JoinNotices';
import { useViewerList } from './useViewerList';
import { ViewerList } from './ViewerList';

/**
 * The host's column beside the video, whether this device publishes or only manages the stream:
 * who is watching, who just joined, and the chat with its moderation.
 */
export function HostSidebar({
  streamId,
  hostId,
  ended,
  chat,
  feed,
}: {
  streamId: string;
  hostId: string;
  ended: boolean;
  chat: ChatState | null;
  feed: ChatFeed;
}) {
  const viewers = useViewerList(streamId);
  return (
    <aside className="flex min-h-64 min-w-0 flex-1 flex-col border-zinc-800 md:h-full md:w-80 md:flex-none md:border-l">
      <ViewerList
        streamId={streamId}
        list={viewers.list}
        error={viewers.error}
        onChanged={viewers.refreshSoon}
      />
      <JoinNotices joins={viewers.joins} list={viewers.list} />
      <div className="flex min-h-0 flex-1 flex-col">
        <ChatSidebar streamId={streamId} hostId={hostId} disabled={ended} chat={chat} feed={feed} />
      </div>
    </aside>
  );
}
