import { createLogger } from './logging/logger';
import { ConfigError, loadConfig } from './config';
import { startServer, type OnAirServer } from './server';

const log = createLogger(process.env.LOG_LEVEL ?? 'info', { service: 'onair' });

/** How long a shutdown may take before the process exits anyway. */
const shutdownDeadlineMs = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  // Signals are answered from the first moment: a node still waiting on its database at start
  // stops when told to, like a running one.
  const started: { server?: OnAirServer } = {};
  let stopping = false;
  let draining = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    // SIGTERM (an orchestrator, a rolling restart) first hands the node's clients to the other
    // nodes, for up to DRAIN_SECONDS; SIGINT (Ctrl-C), or a second signal, stops it now.
    const drainMs = signal === 'SIGTERM' && !draining ? config.drainSeconds * 1000 : 0;
    if (drainMs > 0 && started.server) {
      draining = true;
      log.info({ signal, drainSeconds: config.drainSeconds }, 'draining before shutting down');
      const server = started.server;
      server.drain(drainMs).then(
        () => stop(signal),
        (err: unknown) => {
          log.error({ err }, 'draining failed');
          stop(signal);
        },
      );
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error({ deadlineMs: shutdownDeadlineMs }, 'shutdown took too long: exiting anyway');
      process.exit(1);
    }, shutdownDeadlineMs);
    force.unref();
    // Nothing to release before start-up has finished: what it opened ends with the process.
    if (!started.server) process.exit(0);
    started.server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const server = await startServer(config, { logger: log.child({}, { level: config.logLevel }) });
  log.info(
    { url: server.url, nodeId: server.nodeId, database: server.database.engine },
    'listening',
  );
  // The one line a person starting the product needs.
  started.server = server;
  process.stdout.write(`\nOnAir is live at ${server.url}\n\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    log.fatal({ err: error }, 'failed to start');
  }
  process.exit(1);
});
