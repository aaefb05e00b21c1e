import type { ModerationLogEntry } from '@onair/protocol';
import { Button } from '../../components/Button';
import { describeAction } from './describe';

const when = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** The actions taken on this stream, newest first; older ones on request. */
export function ModerationLog({
  actions,
  hasOlder,
  onLoadOlder,
}: {
  actions: ModerationLogEntry[];
  hasOlder: boolean;
  onLoadOlder: () => void;
}) {
  if (actions.length === 0) return <p className="text-sm text-zinc-500">Nothing yet.</p>;
  return (
    <div className="flex flex-col gap-2">
      <ol className="flex flex-col gap-1 text-sm" data-testid="moderation-log">
        {actions.map((entry) => (
          <li key={entry.id} className="flex min-w-0 gap-2">
            <time
              dateTime={entry.createdAt}
              className="shrink-0 text-xs tabular-nums leading-5 text-zinc-500"
            >
              {when.format(new Date(entry.createdAt))}
            </time>
            <span className="min-w-0 [overflow-wrap:anywhere]">
              <span className="font-medium">@{entry.actor.username}</span> {describeAction(entry)}
            </span>
          </li>
        ))}
      </ol>
      {hasOlder && (
        <Button
          type="button"
          variant="ghost"
          className="self-start px-2 py-1 text-xs"
          onClick={onLoadOlder}
        >
          Show older
        </Button>
      )}
    </div>
  );
}
