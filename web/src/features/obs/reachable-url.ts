/** Names that reach only the machine they are used on. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(host) ||
    host === '::1'
  );
}

/**
 * The URL to give OBS. The server's is right when `PUBLIC_URL` is set; without it the server
 * only knows the address it listens on (`http://localhost:3000`), which reaches nothing from
 * another machine. Then a page that is not itself on loopback shows the same path on its own
 * origin: the address this person's browser already reaches the server at.
 */
export function reachableUrl(
  serverUrl: string,
  page: { origin: string; hostname: string },
): string {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    return serverUrl;
  }
  if (!isLoopback(url.hostname) || isLoopback(page.hostname)) return serverUrl;
  return `${page.origin}${url.pathname}${url.search}`;
}
