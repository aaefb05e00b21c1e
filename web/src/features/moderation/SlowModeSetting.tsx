import { LIMITS, type ModerationAction } from '@onair/protocol';
import { useId } from 'react';
import { shortDuration } from './describe';
import { SectionStatus } from './SectionStatus';
import { useActionStatus } from './useActionStatus';

const presets = [0, 5, 10, 30, 60];

/** Slow mode for this stream: off or one message per user per interval, applied on change. */
export function SlowModeSetting({
  seconds,
  act,
}: {
  seconds: number;
  act: (action: ModerationAction) => Promise<unknown>;
}) {
  const id = useId();
  const { busy, error, done, run } = useActionStatus();
  // A value set elsewhere (another moderator, the API) is shown as it is.
  const options = presets.includes(seconds) ? presets : [...presets, seconds].sort((a, b) => a - b);
  return (
    <div className="flex flex-col gap-1 text-sm">
      <label htmlFor={id} className="font-medium">
        Slow mode
      </label>
      <select
        id={id}
        value={seconds}
        disabled={busy}
        onChange={(event) => {
          const next = Number(event.target.value);
          void run(
            () => act({ action: 'slow_mode', seconds: Math.min(next, LIMITS.slowModeMaxSeconds) }),
            next === 0
              ? 'Slow mode is off.'
              : `Slow mode is on: one message every ${shortDuration(next)}.`,
          );
        }}
        className="rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base"
      >
        {options.map((s) => (
          <option key={s} value={s}>
            {s === 0 ? 'Off' : `One message every ${shortDuration(s)}`}
          </option>
        ))}
      </select>
      <SectionStatus error={error} done={done} />
    </div>
  );
}
