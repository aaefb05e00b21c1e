import { createLogger } from './logging/logger';
import { ConfigError, loadConfig } from './config';
import { startServer } from './server';

const log = createLogger(process.env.LOG_LEVEL ?? 'info', { service: 'onair' });

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startServer(config, { logger: log.child({}, { level: config.logLevel }) });
  log.info(
    { url: server.url, nodeId: server.nodeId, database: server.database.engine },
    'listening',
  );
  // The one line a person starting the product needs.
  process.stdout.write(`\nOnAir is live at ${server.url}\n\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    log.fatal({ err: error }, 'failed to start');
  }
  process.exit(1);
});
