import { randomUUID } from 'node:crypto';
import {
  avatarPath,
  myAvatarPath,
  pathOf,
  routes,
  tagStreamsPath,
  thumbnailPath,
  userWhipPath,
  whepPath,
  whepSessionPath,
  whipPath,
  whipSessionPath,
  type User,
} from '@onair/protocol';
import type { Express, Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restRoutes } from '../src/http/rest';
import { startTestServer, type TestServer } from './support/server';

interface Layer {
  rawPath?: string;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD /path` an Express app serves, from its routers' stacks. */
function servedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        if (typeof layer.route.path !== 'string') continue;
        for (const method of Object.keys(layer.route.methods))
          found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle.stack) {
        const mount = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

const tableRoutes = Object.values(routes).map((route) => `${route.method} ${route.path}`);

describe('the REST table and the routes the server serves', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('serves every route of the table and no /api route outside it', () => {
    const served = servedRoutes(server.app).filter((route) => / \/api(\/|$)/.test(route));
    expect(served.length).toBeGreaterThan(0);
    expect(new Set(tableRoutes).size, 'a route is in the table twice').toBe(tableRoutes.length);
    expect([...served].sort()).toEqual([...tableRoutes].sort());
  });

  it('answers each table route with its handler, never "No such endpoint"', async () => {
    for (const route of Object.values(routes)) {
      const params = { streamId: randomUUID(), userId: randomUUID(), sessionId: randomUUID() };
      const path = pathOf(route.path, {
        ...params,
        username: 'nobody',
        tag: 'music',
        rendition: 'r0',
        file: 'index.m3u8',
      } as never);
      const res = await fetch(`${server.url}${path}`, { method: route.method });
      const text = await res.text();
      expect(text, `${route.method} ${route.path}`).not.toContain('No such endpoint');
    }
    // The check above can fail: a method the table does not have for a path is not served.
    const res = await fetch(`${server.url}/api/me`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('No such endpoint');
  });

  it('builds the same WHIP, WHEP and thumbnail paths as the table', () => {
    const streamId = randomUUID();
    const sessionId = randomUUID();
    expect(whipPath(streamId)).toBe(pathOf(routes.whip.path, { streamId }));
    expect(whepPath(streamId)).toBe(pathOf(routes.whep.path, { streamId }));
    expect(whipSessionPath(streamId, sessionId)).toBe(
      pathOf(routes.endWhip.path, { streamId, sessionId }),
    );
    expect(whepSessionPath(streamId, sessionId)).toBe(
      pathOf(routes.endWhep.path, { streamId, sessionId }),
    );
    expect(userWhipPath).toBe(routes.userWhip.path);
    expect(thumbnailPath(streamId)).toBe(pathOf(routes.thumbnail.path, { streamId }));
    expect(avatarPath(streamId)).toBe(pathOf(routes.avatar.path, { userId: streamId }));
    expect(myAvatarPath).toBe(routes.uploadAvatar.path);
    expect(tagStreamsPath('live music')).toBe(
      pathOf(routes.tagStreams.path, { tag: 'live music' }),
    );
  });
});

/**
 * Compiled by `tsc -p server`, never run: the answers the table forbids. The profile crash came
 * from the web app reading `{ user }` where `PATCH /api/me` answers the user itself.
 */
export function wrongAnswersDoNotCompile(user: User): Router[] {
  return [
    restRoutes(undefined, {
      // @ts-expect-error `PATCH /api/me` answers the user itself, not `{ user }`.
      updateMe: async () => ({ user }),
    }),
    restRoutes(undefined, {
      // @ts-expect-error `GET /api/auth/me` answers `{ user }`.
      authMe: async () => user,
    }),
    restRoutes(undefined, {
      // @ts-expect-error a route that is not in the table has no handler.
      updateYou: async () => user,
    }),
    restRoutes(undefined, {
      // A route's body is its schema's output: `comment` is a string.
      comment: async ({ body }) => {
        // @ts-expect-error not a number
        const length: number = body.comment;
        return { length } as never;
      },
    }),
  ];
}
