import { Compass } from 'lucide-react';
import { Link } from 'react-router-dom';
import { useDocumentTitle } from './document-title';
import { PageLayout } from './PageLayout';

/** Unknown paths, and streams or people that do not exist (or whose address is malformed). */
export function NotFoundPage({
  heading = 'Page not found',
  detail = 'There is nothing at this address. It may have been mistyped, or what was here is gone.',
}: {
  heading?: string;
  detail?: string;
}) {
  useDocumentTitle('Not found');
  return (
    <PageLayout className="mx-auto flex w-full max-w-md flex-col items-center justify-center gap-4 p-6 text-center">
      <Compass className="h-12 w-12 text-zinc-500" aria-hidden />
      <h1 className="text-2xl font-bold" data-testid="not-found">
        {heading}
      </h1>
      <p className="text-zinc-400">{detail}</p>
      <Link
        to="/"
        className="rounded-lg bg-rose-600 px-4 py-2 font-medium text-white hover:bg-rose-500"
      >
        Go to the home page
      </Link>
    </PageLayout>
  );
}
