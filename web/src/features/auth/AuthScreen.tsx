import { LIMITS, loginBody, registerBody } from '@onair/protocol';
import { useRef, useState, type FormEvent } from 'react';
import {
  Link,
  Navigate,
  useLocation,
  useNavigate,
  useNavigationType,
  useSearchParams,
} from 'react-router-dom';
import { focusOnArrival } from '../../components/arrival-focus';
import { Button } from '../../components/Button';
import { FormField } from '../../components/FormField';
import { useDocumentTitle } from '../../components/document-title';
import { PageLayout } from '../../components/PageLayout';
import { describeError } from '../../lib/errors';
import { fieldErrors } from '../../lib/field-messages';
import { useAuth } from './AuthContext';
import { safeNext, signInPath, signUpPath, type AuthPageState } from './return-path';

type Field = 'username' | 'password' | 'displayName';

export function AuthScreen({ mode }: { mode: 'signin' | 'signup' }) {
  const { session, signIn, signUp } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  // `state.from` is what an older link passed; `?next=` survives a reload and can be shared.
  const state = useLocation().state as AuthPageState | null;
  const next = safeNext(params.get('next') ?? state?.from);
  const navigationType = useNavigationType();
  /**
   * Whether the entry before this one is `next`: every sign-in link names its own page, so a
   * link followed here (a push) can go back to it rather than add it again (issue 18: three Back
   * presses to leave a stream after signing up from it). A typed or redirected address cannot.
   */
  const [back] = useState(
    () =>
      state?.back ??
      (navigationType === 'PUSH' &&
        ((window.history.state as { idx?: number } | null)?.idx ?? 0) > 0),
  );
  const pageState: AuthPageState = { back, ...(state?.focus ? { focus: state.focus } : {}) };
  /** Set while leaving after success, so the session's arrival does not navigate a second time. */
  const leaving = useRef(false);
  const signingUp = mode === 'signup';
  useDocumentTitle(signingUp ? 'Create your account' : 'Sign in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (session) return leaving.current ? null : <Navigate to={next} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const found = signingUp
      ? fieldErrors(registerBody, {
          username,
          password,
          displayName: displayName.trim() ? displayName : undefined,
        })
      : fieldErrors(loginBody, { username, password });
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      if (signingUp) await signUp(username, password, displayName.trim() || undefined);
      else await signIn(username, password);
      leaving.current = true;
      focusOnArrival(state?.focus ?? 'heading');
      if (back) void navigate(-1);
      else void navigate(next, { replace: true });
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <PageLayout className="mx-auto flex w-full max-w-sm flex-col justify-center gap-6 p-6">
      <h1 className="text-xl font-semibold">{signingUp ? 'Create your account' : 'Sign in'}</h1>
      <form
        onSubmit={(event) => {
          // `submit` shows its own failure in the form: nothing is left to wait for.
          void submit(event);
        }}
        className="flex flex-col gap-4"
        noValidate
      >
        <FormField
          label="Username"
          error={errors.username}
          hint={
            signingUp
              ? `${LIMITS.usernameMin} to ${LIMITS.usernameMax} letters, digits or _`
              : undefined
          }
        >
          {(field) => (
            <input
              {...field}
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              maxLength={LIMITS.usernameMax}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          )}
        </FormField>
        {signingUp && (
          <FormField label="Display name (optional)" error={errors.displayName}>
            {(field) => (
              <input
                {...field}
                name="displayName"
                maxLength={LIMITS.displayNameMax}
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
              />
            )}
          </FormField>
        )}
        <FormField
          label="Password"
          error={errors.password}
          hint={signingUp ? `At least ${LIMITS.passwordMin} characters` : undefined}
        >
          {(field) => (
            <input
              {...field}
              name="password"
              type="password"
              autoComplete={signingUp ? 'new-password' : 'current-password'}
              required
              maxLength={LIMITS.passwordMax}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </FormField>
        {error && (
          <p role="alert" className="rounded-lg bg-rose-950 px-3 py-2 text-sm text-rose-200">
            {error}
          </p>
        )}
        <Button type="submit" disabled={busy}>
          {signingUp ? 'Sign up' : 'Sign in'}
        </Button>
      </form>
      <p className="text-sm text-zinc-400">
        {signingUp ? 'Already have an account? ' : 'New here? '}
        <Link
          className="text-rose-400 underline"
          to={signingUp ? signInPath(next) : signUpPath(next)}
          // Switching between the two forms is one step, not two history entries.
          replace
          state={pageState}
        >
          {signingUp ? 'Sign in' : 'Create an account'}
        </Link>
      </p>
    </PageLayout>
  );
}
