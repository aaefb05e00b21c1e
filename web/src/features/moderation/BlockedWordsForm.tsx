import { LIMITS, type ModerationAction } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { Button } from '../../components/Button';
import { FormField } from '../../components/FormField';
import { SectionStatus } from './SectionStatus';
import { useActionStatus } from './useActionStatus';

const rule = `One word or phrase per line, up to ${LIMITS.blockedWordMax} characters each. Messages containing one (whole words, any case, accents or look-alike letters) are refused.`;

const parse = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/** What is wrong with the list, in plain words, or null. */
function problem(words: string[]): string | null {
  const long = words.find((w) => w.length > LIMITS.blockedWordMax);
  if (long) return `“${long.slice(0, 20)}…” is longer than ${LIMITS.blockedWordMax} characters.`;
  if (words.length > LIMITS.blockedWordsMax)
    return `At most ${LIMITS.blockedWordsMax} words or phrases can be blocked.`;
  return null;
}

/** The channel's blocked words: edited as lines, saved as a whole list. */
export function BlockedWordsForm({
  words,
  act,
}: {
  words: string[];
  act: (action: ModerationAction) => Promise<unknown>;
}) {
  const [text, setText] = useState(() => words.join('\n'));
  const [fieldError, setFieldError] = useState<string | undefined>();
  const { busy, error, done, run } = useActionStatus();
  const saved = words.join('\n');
  // A list changed elsewhere replaces this one unless it is being edited.
  const [editing, setEditing] = useState(false);
  useEffect(() => {
    if (!editing) setText(saved);
  }, [saved, editing]);

  return (
    <form
      aria-label="Blocked words"
      className="flex flex-col gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        const list = parse(text);
        const wrong = problem(list);
        setFieldError(wrong ?? undefined);
        if (wrong) return;
        void run(
          () => act({ action: 'blocked_words', words: list }),
          list.length
            ? `Saved ${list.length} blocked word${list.length > 1 ? 's' : ''}.`
            : 'No words are blocked now.',
        ).then((ok) => ok && setEditing(false));
      }}
    >
      <FormField label="Blocked words" error={fieldError} hint={rule}>
        {(props) => (
          <textarea
            {...props}
            rows={4}
            value={text}
            onChange={(e) => {
              setEditing(true);
              setText(e.target.value);
            }}
            className={`${props.className} resize-y`}
          />
        )}
      </FormField>
      <div className="flex items-center gap-2">
        <Button
          type="submit"
          variant="secondary"
          disabled={busy || text === saved}
          className="px-3 py-1.5 text-sm"
        >
          Save words
        </Button>
        <SectionStatus error={error} done={done} />
      </div>
    </form>
  );
}
