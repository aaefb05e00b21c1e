import { sql } from 'drizzle-orm';
import type { NodeInfo, NodeLoad, NodeStore } from '../cluster/node-registry';
import type { Db } from './database';
import { clusterNodes } from './schema';

/**
 * The node registry's rows in PostgreSQL (which every node depends on already, and which outlives
 * a Redis outage). Heartbeat times are the database's own clock, so nodes whose clocks differ
 * still agree on who is alive.
 */
export function nodeRows(db: Db): NodeStore {
  return {
    async announce(nodeId, url: string, load: NodeLoad, newRun: boolean) {
      const announced = { url, ...load };
      const [row] = await db
        .insert(clusterNodes)
        .values({ nodeId, ...announced })
        .onConflictDoUpdate({
          target: clusterNodes.nodeId,
          // A new run of a node (the same id after a restart) starts its row afresh.
          set: {
            ...announced,
            heartbeatAt: sql`now()`,
            ...(newRun ? { startedAt: sql`now()` } : {}),
          },
        })
        .returning({ startedAt: clusterNodes.startedAt });
      if (!row) throw new Error('the node registry returned no row');
      return row.startedAt;
    },

    async heartbeatWithin(seconds): Promise<NodeInfo[]> {
      return db
        .select({
          nodeId: clusterNodes.nodeId,
          url: clusterNodes.url,
          mediaViewers: clusterNodes.mediaViewers,
          mediaViewerCap: clusterNodes.mediaViewerCap,
          draining: clusterNodes.draining,
          startedAt: clusterNodes.startedAt,
        })
        .from(clusterNodes)
        .where(sql`${clusterNodes.heartbeatAt} > now() - make_interval(secs => ${seconds})`);
    },

    async remove(nodeId) {
      await db.delete(clusterNodes).where(sql`${clusterNodes.nodeId} = ${nodeId}`);
    },

    async forgetSilentFor(seconds) {
      await db
        .delete(clusterNodes)
        .where(sql`${clusterNodes.heartbeatAt} < now() - make_interval(secs => ${seconds})`);
    },
  };
}
