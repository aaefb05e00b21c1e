import type { NodeInfo, NodeRegistry } from './node-registry';

/** Whether this node takes a new media session, and where to send it if not. */
export type Admission =
  | { kind: 'admit' }
  /** Another live node has room: the client is sent there. */
  | { kind: 'elsewhere'; node: NodeInfo }
  /** No node has room now: the client is told to try again later. */
  | { kind: 'unavailable'; retryAfterSeconds: number };

/**
 * Seconds a client is told to wait when no node has room: about when the nodes' counts have
 * been announced again and a viewer may have left.
 */
export const fullRetryAfterSeconds = 5;

/** Room for more viewers: unlimited without a cap. */
const roomOn = (node: NodeInfo) =>
  node.mediaViewerCap === null ? Infinity : node.mediaViewerCap - node.mediaViewers;

/**
 * The one place deciding whether this node takes a new media session (issue 17, items 4 and 5):
 * a viewer while it is under `MEDIA_MAX_VIEWERS_PER_NODE` and not draining, a publisher while it
 * is not draining. Otherwise the live, non-draining node with the most room takes it (fewest
 * viewers among equals), or nobody does for now. Other nodes' counts are up to a heartbeat old:
 * a node that filled meanwhile sends the client on again.
 */
export class MediaAdmission {
  constructor(private readonly registry: Pick<NodeRegistry, 'self' | 'nodes'>) {}

  viewer(): Admission {
    const self = this.registry.self();
    if (!self.draining && roomOn(self) > 0) return { kind: 'admit' };
    return this.elsewhere((node) => roomOn(node) > 0);
  }

  publisher(): Admission {
    if (!this.registry.self().draining) return { kind: 'admit' };
    return this.elsewhere(() => true);
  }

  private elsewhere(fits: (node: NodeInfo) => boolean): Admission {
    const selfId = this.registry.self().nodeId;
    let best: NodeInfo | undefined;
    for (const node of this.registry.nodes()) {
      if (node.nodeId === selfId || node.draining || !fits(node)) continue;
      if (
        !best ||
        roomOn(node) > roomOn(best) ||
        (roomOn(node) === roomOn(best) && node.mediaViewers < best.mediaViewers)
      )
        best = node;
    }
    return best
      ? { kind: 'elsewhere', node: best }
      : { kind: 'unavailable', retryAfterSeconds: fullRetryAfterSeconds };
  }
}
