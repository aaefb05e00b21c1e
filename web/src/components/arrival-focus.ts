import { useEffect } from 'react';
import { useLocation } from 'react-router-dom';

/** What to focus on the page a navigation lands on: its main heading, or the chat box. */
export type ArrivalTarget = 'heading' | 'chat';

const selectors: Record<ArrivalTarget, string> = {
  heading: 'main h1',
  chat: 'main input[id^="chat-"]:not([disabled])',
};

/** How long a page may take to show what is wanted (a stream page loads, then shows its chat). */
const patienceMs = 4000;
/** Wanting the chat box: after this long without one, the heading will do. */
const headingAfterMs = 1500;

let pending: ArrivalTarget | null = null;

/**
 * Asks for focus to move to `target` on the page the next navigation lands on (issue 18: after
 * signing in or up focus was left on nothing, and a screen reader started from the top).
 */
export function focusOnArrival(target: ArrivalTarget): void {
  pending = target;
}

/**
 * Carries out `focusOnArrival` once the location changes. Pages render in steps (loading, then
 * content), so the target is looked for until it shows, and focused again if the step that held
 * it is replaced; anything the user focuses meanwhile wins.
 */
export function useArrivalFocus(): void {
  const { key } = useLocation();
  useEffect(() => {
    const target = pending;
    if (!target) return;
    pending = null;
    const started = Date.now();
    let placed: HTMLElement | null = null;
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      const active = document.activeElement;
      const lost = !active || active === document.body || (placed !== null && !placed.isConnected);
      if (elapsed > patienceMs || (!lost && active !== placed)) return clearInterval(timer);
      if (!lost) return;
      const element =
        document.querySelector<HTMLElement>(selectors[target]) ??
        (elapsed > headingAfterMs ? document.querySelector<HTMLElement>(selectors.heading) : null);
      if (!element) return;
      // A heading is not focusable by itself; -1 keeps it out of the Tab order.
      if (element.tabIndex < 0 && !element.hasAttribute('tabindex'))
        element.setAttribute('tabindex', '-1');
      element.focus();
      placed = element;
    }, 100);
    return () => clearInterval(timer);
  }, [key]);
}

/** Mounted once inside the router: see `useArrivalFocus`. */
export function ArrivalFocus(): null {
  useArrivalFocus();
  return null;
}
