import { RefreshCw } from 'lucide-react';
import type { ReactNode } from 'react';
import { Button } from '../../components/Button';
import { BansSection } from './BansSection';
import { BlockedWordsForm } from './BlockedWordsForm';
import { ModerationLog } from './ModerationLog';
import { ModeratorsSection } from './ModeratorsSection';
import { SlowModeSetting } from './SlowModeSetting';
import type { Moderation } from './useModeration';

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section aria-label={title} className="flex flex-col gap-2 border-b border-zinc-800 pb-4">
      <h3 className="text-sm font-semibold text-zinc-200">{title}</h3>
      {children}
    </section>
  );
}

/**
 * The stream's moderation for its host and moderators: slow mode, blocked words, moderators
 * (the host appoints them), bans, and what has been done.
 */
export function ModerationPanel({
  moderation,
  isHost,
  token,
}: {
  moderation: Moderation;
  isHost: boolean;
  token: string;
}) {
  const { state, act } = moderation;
  return (
    <div
      className="flex min-h-0 flex-1 flex-col gap-4 overflow-y-auto p-3"
      data-testid="moderation-panel"
    >
      {moderation.loadError && (
        <p role="alert" className="text-sm text-rose-300">
          {moderation.loadError}
        </p>
      )}
      {!state ? (
        !moderation.loadError && (
          <p role="status" className="text-sm text-zinc-400">
            Loading…
          </p>
        )
      ) : (
        <>
          <Section title="Chat rules">
            <SlowModeSetting seconds={state.slowModeSeconds} act={act} />
            <BlockedWordsForm words={state.blockedWords} act={act} />
          </Section>
          <Section title="Moderators">
            <ModeratorsSection
              moderators={state.moderators}
              isHost={isHost}
              token={token}
              act={act}
            />
          </Section>
          <Section title="Banned">
            <BansSection bans={state.bans} timeouts={state.timeouts} act={act} />
          </Section>
          <section aria-label="Moderation log" className="flex flex-col gap-2">
            <div className="flex items-center justify-between">
              <h3 className="text-sm font-semibold text-zinc-200">Recent actions</h3>
              <Button
                type="button"
                variant="ghost"
                className="px-2 py-1 text-xs"
                onClick={() => void moderation.reload()}
              >
                <RefreshCw className="h-3.5 w-3.5" aria-hidden /> Refresh
              </Button>
            </div>
            <ModerationLog
              actions={moderation.actions}
              hasOlder={moderation.hasOlder}
              onLoadOlder={() => void moderation.loadOlder()}
            />
          </section>
        </>
      )}
    </div>
  );
}
