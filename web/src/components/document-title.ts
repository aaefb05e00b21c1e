import { useEffect } from 'react';

export const productName = 'OnAir';

/** Sets the tab's title to "<parts> · OnAir" while the page is shown. */
export function useDocumentTitle(...parts: (string | null | undefined)[]): void {
  const title = [...parts.filter(Boolean), productName].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}
