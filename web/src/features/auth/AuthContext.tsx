import type { AuthResponse, User } from '@onair/protocol';
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { apiRequest } from '../../lib/api';
import { LiveSocket } from '../../lib/live-socket';

interface Session {
  token: string;
  user: User;
}

interface AuthValue {
  session: Session | null;
  /** One socket per signed-in session, shared by every screen. */
  socket: LiveSocket | null;
  loading: boolean;
  signIn(username: string, password: string): Promise<void>;
  signUp(username: string, password: string, displayName?: string): Promise<void>;
  signOut(): void;
}

const AuthContext = createContext<AuthValue | null>(null);
const storageKey = 'onair.token';

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);

  // A stored token is checked with the server before anything trusts it.
  useEffect(() => {
    const token = localStorage.getItem(storageKey);
    if (!token) {
      setLoading(false);
      return;
    }
    apiRequest<{ user: User }>('GET', '/api/auth/me', { token })
      .then(({ user }) => setSession({ token, user }))
      .catch(() => localStorage.removeItem(storageKey))
      .finally(() => setLoading(false));
  }, []);

  const socket = useMemo(() => (session ? new LiveSocket(session.token) : null), [session]);
  useEffect(() => () => socket?.close(), [socket]);

  const accept = useCallback((auth: AuthResponse) => {
    localStorage.setItem(storageKey, auth.token);
    setSession({ token: auth.token, user: auth.user });
  }, []);

  const value = useMemo<AuthValue>(
    () => ({
      session,
      socket,
      loading,
      signIn: async (username, password) =>
        accept(
          await apiRequest<AuthResponse>('POST', '/api/auth/login', {
            body: { username, password },
          }),
        ),
      signUp: async (username, password, displayName) =>
        accept(
          await apiRequest<AuthResponse>('POST', '/api/auth/register', {
            body: { username, password, ...(displayName ? { displayName } : {}) },
          }),
        ),
      signOut: () => {
        localStorage.removeItem(storageKey);
        setSession(null);
      },
    }),
    [session, socket, loading, accept],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** For screens behind `RequireAuth`: the session and socket are there. */
export function useSession(): { session: Session; socket: LiveSocket } {
  const { session, socket } = useAuth();
  if (!session || !socket) throw new Error('useSession outside RequireAuth');
  return { session, socket };
}
