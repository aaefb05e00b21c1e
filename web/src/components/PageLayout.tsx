import type { ReactNode } from 'react';
import { Header } from './Header';

/**
 * Every page's frame: the header, then the page's one `<main>` (the page gives its `<h1>` and
 * its title with `useDocumentTitle`). `className` shapes the main area; the default is a
 * centred column that never grows wider than the screen.
 */
export function PageLayout({
  children,
  className = 'mx-auto w-full max-w-5xl p-4',
}: {
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className="flex min-h-dvh min-w-0 flex-col">
      <Header />
      <main id="main" className={`min-w-0 flex-1 ${className}`}>
        {children}
      </main>
    </div>
  );
}
