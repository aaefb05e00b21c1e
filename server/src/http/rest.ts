import {
  routes,
  type PathParamNames,
  type ResponseOf,
  type RestRoute,
  type RouteName,
  type Routes,
} from '@onair/protocol';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { TokenService } from '../auth/tokens';
import type { Actor } from '../live/presence';
import { actorOf, authenticate, maybeActorOf } from './auth';
import { parse } from './validate';

type Parsed<S, Otherwise> = S extends z.ZodType ? z.output<S> : Otherwise;

/** What a handler is given: the request's parts checked by the route's schemas, and the caller. */
export interface RestInput<R extends RestRoute> {
  params: Parsed<R['params'], Record<PathParamNames<R['path']>, string>>;
  query: Parsed<R['query'], undefined>;
  /** JSON bodies only; a raw body (an image, SDP) is read from `req` by the handler. */
  body: Parsed<R['body'], undefined>;
  actor: R['auth'] extends 'required' ? Actor : Actor | undefined;
  req: Request;
  res: Response;
}

export interface RouteOptions<R extends RestRoute> {
  /** Runs before the body is read (e.g. who may upload), so a refused body is never buffered. */
  admit?: (input: Omit<RestInput<R>, 'body'>) => Promise<void>;
  /** Reads a body that is not JSON. */
  bodyParser?: RequestHandler;
}

/** A JSON route's handler returns its answer; a raw one's (an image, SDP) writes it itself. */
export type RouteHandler<R extends RestRoute> = [ResponseOf<R>] extends [never]
  ? (input: RestInput<R>) => Promise<void>
  : (input: RestInput<R>) => Promise<ResponseOf<R>>;

/** A route's handler, alone or with the steps it takes before its body is read. */
export type RouteServing<R extends RestRoute> =
  RouteHandler<R> | (RouteOptions<R> & { handle: RouteHandler<R> });

/**
 * Handlers by the table's route names. Express tries routes in the order they are added, which
 * is this object's order: a literal segment goes before a `:param` it would match.
 */
export type RestHandlers = { [N in RouteName]?: RouteServing<Routes[N]> };

const methods = {
  GET: 'get',
  POST: 'post',
  PUT: 'put',
  PATCH: 'patch',
  DELETE: 'delete',
} as const;

/**
 * A router serving routes of the protocol's table: the path, who may call, the parsing of params,
 * query and a JSON body, and the answer's type and status come from the entry, so a handler that
 * answers the wrong shape does not compile. Mounted at the root, since the table's paths are
 * whole. `tokens` is needed by routes that read a caller's token.
 */
export function restRoutes(tokens: TokenService | undefined, handlers: RestHandlers): Router {
  const router = Router();
  const checks = tokens && {
    required: authenticate(tokens, 'required'),
    optional: authenticate(tokens, 'optional'),
  };
  const authFor = (route: RestRoute): RequestHandler[] => {
    if (route.auth !== 'required' && route.auth !== 'optional') return [];
    // A wiring mistake, found when the server starts.
    if (!checks) throw new Error(`${route.method} ${route.path} needs the token service`);
    return [checks[route.auth]];
  };

  const inputOf = (route: RestRoute, req: Request, res: Response) => ({
    params: route.params ? parse(route.params, req.params) : req.params,
    query: route.query ? parse(route.query, req.query) : undefined,
    actor: route.auth === 'required' ? actorOf(res) : maybeActorOf(res),
    req,
    res,
  });

  for (const [name, serving] of Object.entries(handlers) as [
    RouteName,
    RouteServing<RestRoute>,
  ][]) {
    const route: RestRoute = routes[name];
    const { handle, admit, bodyParser } =
      typeof serving === 'function'
        ? { handle: serving }
        : (serving as RouteOptions<RestRoute> & { handle: RouteHandler<RestRoute> });
    const steps = authFor(route);
    if (admit)
      steps.push(async (req, res, next) => {
        await admit(inputOf(route, req, res) as Omit<RestInput<RestRoute>, 'body'>);
        next();
      });
    if (bodyParser) steps.push(bodyParser);
    router[methods[route.method]](route.path, ...steps, async (req, res) => {
      const input = inputOf(route, req, res);
      // JSON bodies only: a raw one is read by the route's own parser.
      const body =
        route.body && !('raw' in route.body) ? parse(route.body, req.body ?? {}) : undefined;
      const answer = await handle({ ...input, body } as RestInput<RestRoute>);
      if (route.answers !== 'json') return;
      // A handler may pick another status for its answer (health's 503).
      if (res.statusCode === 200) res.status(route.status);
      res.json(answer);
    });
  }
  return router;
}
