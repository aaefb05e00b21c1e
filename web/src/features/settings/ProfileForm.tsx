import { LIMITS, updateMeBody, type User } from '@onair/protocol';
import { useState, type FormEvent } from 'react';
import { Button } from '../../components/Button';
import { FormField } from '../../components/FormField';
import { ApiError, call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { fieldErrors, fieldRules } from '../../lib/field-messages';
import { useAuth, useSession } from '../auth/AuthContext';

type Field = 'displayName' | 'bio';

/** The server names the field first in an `invalid_input` message: "displayName: Too big…". */
function fieldOf(error: unknown): Field | null {
  if (!(error instanceof ApiError) || error.code !== 'invalid_input') return null;
  const name = /^(displayName|bio):/.exec(error.message)?.[1];
  return name === 'displayName' || name === 'bio' ? name : null;
}

/** Display name and bio, each with its own error. */
export function ProfileForm() {
  const { session } = useSession();
  const { updateUser } = useAuth();
  const [saved, setSaved] = useState<User>(session.user);
  const [displayName, setDisplayName] = useState(session.user.display_name);
  const [bio, setBio] = useState(session.user.bio ?? '');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setStatus(null);
    const values = { displayName: displayName.trim(), bio: bio || null };
    const found = fieldErrors<Field>(updateMeBody, values);
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      // `PATCH /api/me` answers the user itself.
      const user = await call('updateMe', { body: values, token: session.token });
      setSaved(user);
      // The header and every page showing this user's name follow at once.
      updateUser(user);
      setDisplayName(user.display_name);
      setBio(user.bio ?? '');
      setStatus({ ok: true, text: 'Saved.' });
    } catch (e) {
      const field = fieldOf(e);
      if (field) setErrors({ [field]: fieldRules[field].rule });
      else setStatus({ ok: false, text: describeError(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      aria-label="Profile"
      noValidate
      className="flex min-w-0 flex-col gap-3"
      onSubmit={(event) => {
        // `save` shows its own outcome beside the fields.
        void save(event);
      }}
    >
      <p className="text-sm text-zinc-400">
        Signed in as <span className="font-medium text-zinc-200">@{saved.username}</span>
      </p>
      <FormField label="Display name" error={errors.displayName}>
        {(props) => (
          <input
            {...props}
            name="displayName"
            value={displayName}
            maxLength={LIMITS.displayNameMax}
            onChange={(e) => setDisplayName(e.target.value)}
          />
        )}
      </FormField>
      <FormField label="Bio" error={errors.bio} hint={fieldRules.bio.rule}>
        {(props) => (
          <textarea
            {...props}
            name="bio"
            rows={3}
            value={bio}
            maxLength={LIMITS.bioMax}
            onChange={(e) => setBio(e.target.value)}
          />
        )}
      </FormField>
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
