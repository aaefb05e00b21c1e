import { fork, type ChildProcess } from 'node:child_process';

export interface WorkerMessage {
  type: string;
  [key: string]: unknown;
}

/** A load-generator child process spoken to over IPC: request → reply by message type. */
export interface Worker {
  child: ChildProcess;
  pid: number;
  request<T extends WorkerMessage>(message: WorkerMessage, reply: string, ms?: number): Promise<T>;
  /** Asks the worker to close its peers and exit; kills it if it has not within `ms`. */
  stop(ms?: number): Promise<void>;
}

/**
 * Forks a TypeScript worker (through tsx) and waits for its `ready` message. Workers report
 * failures as `{ type: 'error', message }`; any other message is delivered to `onMessage`.
 */
export function startWorker(
  file: string,
  args: string[],
  options: { readyMs?: number; onMessage?: (m: WorkerMessage) => void } = {},
): Promise<Worker & { ready: WorkerMessage }> {
  const child = fork(file, args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = <T extends WorkerMessage>(message: WorkerMessage, reply: string, ms = 60_000) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error(`${message.type}: no ${reply} from worker ${child.pid} within ${ms} ms`));
      }, ms);
      const onMessage = (m: WorkerMessage) => {
        if (m.type === reply) {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(m as T);
        } else if (m.type === 'error') {
          clearTimeout(timer);
          child.off('message', onMessage);
          reject(new Error(String(m.message)));
        }
      };
      child.on('message', onMessage);
      child.send(message);
    });
  const stop = (ms = 10_000) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, ms);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.connected) child.send({ type: 'close' });
      else child.kill('SIGKILL');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${file} not ready within ${options.readyMs ?? 120_000} ms`));
    }, options.readyMs ?? 120_000);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve({ child, pid: child.pid!, request, stop, ready: m });
      } else if (m.type === 'error') {
        clearTimeout(timer);
        reject(new Error(String(m.message)));
      } else options.onMessage?.(m);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker ${file} exited (${code ?? signal}) before it was ready`));
    });
  });
}

/** The worker side: handlers by message type; each returns the reply to send, if any. */
export function serveParent(
  handlers: Record<
    string,
    (m: WorkerMessage) => Promise<WorkerMessage | undefined> | WorkerMessage | undefined
  >,
): void {
  // A worker whose harness is gone has nobody to report to.
  process.once('disconnect', () => process.exit(0));
  process.on('message', (m: WorkerMessage) => {
    const handler = handlers[m.type];
    if (!handler) return;
    Promise.resolve()
      .then(() => handler(m))
      .then(
        (reply) => reply && process.send!(reply),
        (error: unknown) => process.send!({ type: 'error', message: String(error) }),
      );
  });
}
