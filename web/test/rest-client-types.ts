import { call } from '../src/lib/api';

/**
 * Compiled by `tsc -p web`, never run: calls the REST table forbids. The profile crash came from
 * reading `{ user }` where `PATCH /api/me` answers the user itself.
 */
export async function wrongCallsDoNotCompile(token: string): Promise<unknown[]> {
  const user = await call('updateMe', { body: { displayName: 'Ada' }, token });
  // @ts-expect-error `PATCH /api/me` answers the user itself, not `{ user }`.
  const { user: nested } = await call('updateMe', { body: { displayName: 'Ada' }, token });
  return [
    user.display_name,
    nested,
    // @ts-expect-error a signed-in route needs a token.
    await call('streamKey'),
    // @ts-expect-error a path's params are required.
    await call('stream', { token }),
    // @ts-expect-error the body must fit the route's schema.
    await call('comment', { params: { streamId: 'x' }, body: { text: 'hi' }, token }),
    // @ts-expect-error WHIP answers SDP, not JSON: not the JSON client's.
    await call('whip', { params: { streamId: 'x' }, body: new Blob(), token }),
  ];
}
