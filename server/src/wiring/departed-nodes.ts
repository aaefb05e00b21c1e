import type { Logger } from 'pino';
import type { NodeInfo, NodeRegistry } from '../cluster/node-registry';
import type { PresenceService } from '../live/presence';

export interface DepartedNodesDeps {
  registry: Pick<NodeRegistry, 'isAlive' | 'on' | 'off'>;
  presence: Pick<PresenceService, 'forgetNode'>;
  logger: Logger;
}

/**
 * A node that died took its sockets with it: the viewers it held stop counting once the others
 * see it gone, rather than when (if ever) it starts again. Returns what stops listening.
 */
export function connectDepartedNodes({ registry, presence, logger }: DepartedNodesDeps) {
  const onGone = (node: NodeInfo) => {
    // Restarted under the same id: it forgets its own connections as it starts.
    if (registry.isAlive(node.nodeId)) return;
    presence
      .forgetNode(node.nodeId)
      .catch((err: unknown) =>
        logger.warn({ err, nodeId: node.nodeId }, 'could not forget the viewers of a node gone'),
      );
  };
  registry.on('node_gone', onGone);
  return () => registry.off('node_gone', onGone);
}
