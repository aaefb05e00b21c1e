/** Under a panel section: what its last request did, or why it was refused. */
export function SectionStatus({ error, done }: { error: string | null; done: string | null }) {
  if (error)
    return (
      <p role="alert" className="text-xs text-rose-300">
        {error}
      </p>
    );
  return (
    <p role="status" className="text-xs text-emerald-300 empty:hidden">
      {done}
    </p>
  );
}
