import type { NavigateOptions, To } from 'react-router';

// The app uses <BrowserRouter>, whose `navigate` is synchronous; its `void | Promise<void>` type
// serves data routers, whose navigations finish later. React Router's documented narrowing
// (see `useNavigate`), so a navigation is not taken for a promise left unawaited.
declare module 'react-router' {
  interface NavigateFunction {
    (to: To, options?: NavigateOptions): void;
    (delta: number): void;
  }
}
