import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { errorSerializer, requestSerializer, responseSerializer } from '../logging/redaction';
import type { Limit } from '../live/rate-limits';
import type { Metrics } from '../observability/Metrics';
import { apiNotFound, errorHandler } from './errors';
import { healthRoutes, type HealthSource } from './health';
import { metricsAccess } from './metrics-access';
import { requestBudget } from './request-budget';
import { securityHeaders } from './security-headers';

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  /**
   * Routers in order: those of the REST table (`restRoutes`) serve whole paths and are mounted at
   * the root; a pair is a router mounted under its path.
   */
  routes: (express.Router | [path: string, router: express.Router])[];
  /** What `/api/health` and `/api/ready` report. */
  health: HealthSource;
  /** The built web app, served with a fallback to its index.html for client-side routes. */
  webDir?: string | undefined;
  /** Bearer token `/metrics` requires; without one it answers loopback callers only. */
  metricsToken?: string | undefined;
  /** API requests one address may make (`API_REQUESTS_PER_IP`); health checks are free. */
  requestsPerAddress: Limit;
}

const requestIdPattern = /^[\w.-]{1,128}$/;
/** Asked every few seconds by monitors and load balancers: not worth a log line each. */
const quietPaths = new Set(['/api/health', '/api/ready', '/metrics']);

export function createHttpApp({
  logger,
  metrics,
  routes,
  health,
  webDir,
  metricsToken,
  requestsPerAddress,
}: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders());

  app.use(
    pinoHttp({
      logger,
      // Our own serializers, unwrapped: headers, URLs and errors are scrubbed of credentials.
      wrapSerializers: false,
      serializers: { req: requestSerializer, res: responseSerializer, err: errorSerializer },
      // A caller's request id is kept so one id follows a request across services.
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => quietPaths.has(req.url ?? '') },
    }),
  );

  app.use((req, res, next) => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ route, status: String(res.statusCode) });
    });
    next();
  });

  app.use(healthRoutes(health));
  app.use('/api', requestBudget(requestsPerAddress));
  app.use(express.json({ limit: '1mb' }));

  app.get('/metrics', metricsAccess(metricsToken), async (_req, res) => {
    res.type('text/plain; version=0.0.4').send(await metrics.render());
  });

  for (const entry of routes) {
    if (Array.isArray(entry)) app.use(...entry);
    else app.use(entry);
  }
  app.use('/api', apiNotFound);
  if (webDir) {
    app.use(express.static(webDir, { index: false, maxAge: '1h' }));
    const indexHtml = path.join(webDir, 'index.html');
    app.get(/^\/(?!api\/|socket\.io\/|metrics$).*/, (_req, res, next) => {
      if (!existsSync(indexHtml)) {
        res.status(503).type('text').send('The web app is not built yet: run `npm run build`.');
        return;
      }
      res.set('Cache-Control', 'no-cache');
      res.sendFile(indexHtml, (err) => err && next(err));
    });
  }
  app.use(errorHandler);
  return app;
}
