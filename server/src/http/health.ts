import type { Router } from 'express';
import type { DependencyState } from '../cluster/health-probe';
import { restRoutes } from './rest';

export interface HealthSource {
  /** Start-up not done yet, serving, handing its clients to other nodes, or shutting down. */
  phase(): 'starting' | 'serving' | 'draining' | 'stopping';
  /** Each server this node uses, by name (`database`, `redis`), and whether it answers. */
  dependencies(): Record<string, DependencyState>;
  /**
   * Those without which the node cannot do its work: while one is down it is not ready.
   * The others only degrade it (see README, "Dependencies").
   */
  required: readonly string[];
}

/** Seconds a load balancer is told to wait before asking a node that is not ready again. */
const retryAfterSeconds = 5;

/**
 * `/api/health` says what state the node and each of its dependencies are in (200 while it
 * serves, however degraded; 503 while it starts, drains or stops). `/api/ready` is for load
 * balancers: 200 while it serves and every required dependency answers, else 503 (a draining
 * node is not ready: it takes no new sessions).
 */
export function healthRoutes(source: HealthSource): Router {
  return restRoutes(undefined, {
    health: async ({ res }) => {
      const phase = source.phase();
      const dependencies = source.dependencies();
      const allUp = Object.values(dependencies).every((state) => state === 'ok');
      if (phase !== 'serving') {
        res.status(503);
        return { ok: false, status: phase, dependencies };
      }
      return { ok: allUp, status: allUp ? 'ok' : 'degraded', dependencies };
    },
    ready: async ({ res }) => {
      const dependencies = source.dependencies();
      const missing = source.required.filter((name) => dependencies[name] === 'down');
      const ready = source.phase() === 'serving' && missing.length === 0;
      if (!ready) res.set('Retry-After', String(retryAfterSeconds)).status(503);
      return { ready, dependencies };
    },
  });
}
