import { useId, type ReactNode } from 'react';

const inputClass = (invalid: boolean) =>
  `w-full min-w-0 rounded-lg border bg-zinc-900 px-3 py-2 text-base ${invalid ? 'border-rose-500' : 'border-zinc-700'}`;

/**
 * A labelled input with its rule (`hint`) or its error right under it, tied to it for screen
 * readers. The child gets the props to spread on its input; errors come from `fieldErrors`.
 */
export function FormField({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error: string | undefined;
  hint?: string;
  children: (props: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
    className: string;
  }) => ReactNode;
}) {
  const id = useId();
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className="flex flex-col gap-1 text-sm">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        'aria-invalid': Boolean(error),
        'aria-describedby': describedBy,
        className: inputClass(Boolean(error)),
      })}
      {error ? (
        <p id={`${id}-error`} className="text-rose-300" data-testid="field-error">
          {error}
        </p>
      ) : (
        hint && (
          <p id={`${id}-hint`} className="text-zinc-500">
            {hint}
          </p>
        )
      )}
    </div>
  );
}
