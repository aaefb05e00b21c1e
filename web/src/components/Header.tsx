import { ChevronDown, LogOut, Radio, Settings, User } from 'lucide-react';
import { useId } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { useAuth } from '../features/auth/AuthContext';
import { signInPath } from '../features/auth/return-path';
import { NotificationsMenu } from '../features/notifications/NotificationsMenu';
import { Avatar } from './Avatar';
import { productName } from './document-title';
import { usePopover } from './use-popover';

/**
 * The product name (home), and sign in or the signed-in user's menu. It is 3.5rem high (`h-14`):
 * a view filling the rest of the screen is `h-[calc(100dvh-3.5rem)]`.
 */
export function Header() {
  const { session } = useAuth();
  const location = useLocation();
  const onAuthPage = location.pathname === '/signin' || location.pathname === '/signup';
  return (
    <header className="sticky top-0 z-30 flex h-14 items-center justify-between gap-3 border-b border-zinc-800 bg-zinc-950/95 px-4 backdrop-blur">
      <a
        href="#main"
        className="sr-only rounded bg-rose-600 px-3 py-1 focus:not-sr-only focus:absolute focus:left-2 focus:top-2"
      >
        Skip to content
      </a>
      <Link to="/" className="flex shrink-0 items-center gap-2 text-lg font-bold">
        <Radio className="h-6 w-6 text-rose-500" aria-hidden /> {productName}
      </Link>
      {session ? (
        <div className="flex min-w-0 items-center gap-1">
          <NotificationsMenu />
          <ProfileMenu />
        </div>
      ) : (
        !onAuthPage && (
          <Link
            to={signInPath(`${location.pathname}${location.search}`)}
            className="rounded-lg bg-zinc-800 px-3 py-1.5 text-sm font-medium hover:bg-zinc-700"
          >
            Sign in
          </Link>
        )
      )}
    </header>
  );
}

function ProfileMenu() {
  const { session, signOut } = useAuth();
  const { open, setOpen, root } = usePopover();
  const menuId = useId();

  if (!session) return null;
  const { user } = session;
  const item = 'flex items-center gap-2 rounded px-3 py-2 text-left text-sm hover:bg-zinc-800';
  return (
    <div ref={root} className="relative min-w-0">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={menuId}
        aria-label={`Account menu for ${user.display_name}`}
        onClick={() => setOpen((o) => !o)}
        className="flex min-w-0 items-center gap-2 rounded-full py-1 pl-1 pr-2 hover:bg-zinc-800"
      >
        <Avatar user={user} size="h-8 w-8 text-sm" />
        <span className="hidden max-w-40 truncate text-sm sm:inline">{user.display_name}</span>
        <ChevronDown className="h-4 w-4 text-zinc-400" aria-hidden />
      </button>
      {open && (
        <nav
          id={menuId}
          aria-label="Account"
          className="absolute right-0 top-full mt-2 flex w-56 max-w-[calc(100vw-2rem)] flex-col rounded-xl border border-zinc-800 bg-zinc-900 p-1 shadow-xl"
        >
          <p className="truncate px-3 py-2 text-xs text-zinc-400">@{user.username}</p>
          <Link to={`/u/${user.username}`} className={item}>
            <User className="h-4 w-4" aria-hidden /> Your profile
          </Link>
          <Link to="/settings" className={item}>
            <Settings className="h-4 w-4" aria-hidden /> Settings
          </Link>
          <button type="button" onClick={signOut} className={item}>
            <LogOut className="h-4 w-4" aria-hidden /> Sign out
          </button>
        </nav>
      )}
    </div>
  );
}
