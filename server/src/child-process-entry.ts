import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ChildProcessEntry {
  /** The file for `fork`/`spawn` to run. */
  path: string;
  /** Node options the child needs to run it. */
  execArgv: string[];
}

/**
 * How to start one of the server's own modules in a process of its own, named relative to the
 * module that starts it (`callerUrl` is that module's `import.meta.url`).
 *
 * The compiled server (`npm start`, server/dist) is plain JavaScript with every process entry
 * beside `main.js`: the child runs the `.js` file with plain `node`. From the TypeScript sources
 * (the test suites, `npm run dev`) the caller's URL ends in `.ts`: the child runs the `.ts` file
 * through the tsx loader, which is then only needed as a development dependency.
 */
export function childProcessEntry(callerUrl: string, name: string): ChildProcessEntry {
  if (callerUrl.endsWith('.js'))
    return {
      path: fileURLToPath(new URL(`./${name}.js`, callerUrl)),
      // Stack traces name the TypeScript sources, as the main process's do.
      execArgv: ['--enable-source-maps'],
    };
  const tsxLoader = pathToFileURL(createRequire(callerUrl).resolve('tsx')).href;
  return {
    path: fileURLToPath(new URL(`./${name}.ts`, callerUrl)),
    execArgv: ['--import', tsxLoader],
  };
}
