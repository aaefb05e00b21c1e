import { LIMITS, updateMeBody, type User } from '@onair/protocol';
import { useState, type FormEvent } from 'react';
import { Button } from '../../components/Button';
import { accountApi } from '../../lib/account-api';
import { ApiError } from '../../lib/api';
import { useSession } from '../auth/AuthContext';

type Field = 'displayName' | 'bio';
const input = 'w-full min-w-0 rounded-lg border border-zinc-700 bg-zinc-900 px-3 py-2 text-base';

/** The server names the field first in an `invalid_input` message: "displayName: Too big…". */
function fieldOf(message: string): Field | null {
  const name = /^(displayName|bio):/.exec(message)?.[1];
  return name === 'displayName' || name === 'bio' ? name : null;
}

/** Display name and bio, each with its own error. */
export function ProfileForm() {
  const { session } = useSession();
  const [saved, setSaved] = useState<User>(session.user);
  const [displayName, setDisplayName] = useState(session.user.display_name);
  const [bio, setBio] = useState(session.user.bio ?? '');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setStatus(null);
    const parsed = updateMeBody.safeParse({ displayName: displayName.trim(), bio: bio || null });
    if (!parsed.success) {
      const found: Partial<Record<Field, string>> = {};
      for (const issue of parsed.error.issues) {
        const field = issue.path[0];
        if ((field === 'displayName' || field === 'bio') && !found[field])
          found[field] = issue.message;
      }
      setErrors(found);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const { user } = await accountApi.updateMe(session.token, parsed.data);
      setSaved(user);
      setDisplayName(user.display_name);
      setBio(user.bio ?? '');
      setStatus({ ok: true, text: 'Saved.' });
    } catch (e) {
      const message = (e as Error).message;
      const field = e instanceof ApiError && e.code === 'invalid_input' ? fieldOf(message) : null;
      if (field) setErrors({ [field]: message.slice(field.length + 1).trim() });
      else setStatus({ ok: false, text: message });
    } finally {
      setBusy(false);
    }
  };

  const describe = (field: Field) => (errors[field] ? `${field}-error` : undefined);
  return (
    <form
      aria-label="Profile"
      className="flex min-w-0 flex-col gap-3"
      onSubmit={(event) => {
        // `save` shows its own outcome beside the fields.
        void save(event);
      }}
    >
      <p className="text-sm text-zinc-400">
        Signed in as <span className="font-medium text-zinc-200">@{saved.username}</span>
      </p>
      <label className="flex flex-col gap-1 text-sm">
        Display name
        <input
          name="displayName"
          value={displayName}
          maxLength={LIMITS.displayNameMax}
          onChange={(e) => setDisplayName(e.target.value)}
          aria-invalid={errors.displayName ? true : undefined}
          aria-describedby={describe('displayName')}
          className={input}
        />
      </label>
      {errors.displayName && (
        <p id="displayName-error" role="alert" className="-mt-2 text-sm text-rose-300">
          {errors.displayName}
        </p>
      )}
      <label className="flex flex-col gap-1 text-sm">
        Bio
        <textarea
          name="bio"
          rows={3}
          value={bio}
          maxLength={LIMITS.bioMax}
          onChange={(e) => setBio(e.target.value)}
          aria-invalid={errors.bio ? true : undefined}
          aria-describedby={describe('bio')}
          className={input}
        />
      </label>
      {errors.bio && (
        <p id="bio-error" role="alert" className="-mt-2 text-sm text-rose-300">
          {errors.bio}
        </p>
      )}
      {status && (
        <p
          role={status.ok ? 'status' : 'alert'}
          className={`text-sm ${status.ok ? 'text-emerald-300' : 'text-rose-300'}`}
        >
          {status.text}
        </p>
      )}
      <Button type="submit" disabled={busy} className="self-start">
        Save profile
      </Button>
    </form>
  );
}
