import { Link } from 'react-router-dom';

/** The web app's page of a tag's streams. */
export const tagPagePath = (tag: string): string => `/tags/${encodeURIComponent(tag)}`;

/** `#tag`, linking to the streams with that tag. */
export function TagLink({ tag, className = '' }: { tag: string; className?: string }) {
  return (
    <Link
      to={tagPagePath(tag)}
      className={`max-w-full truncate rounded bg-zinc-800 px-1.5 py-0.5 text-xs text-zinc-300 hover:bg-zinc-700 hover:text-zinc-100 ${className}`}
    >
      #{tag}
    </Link>
  );
}
