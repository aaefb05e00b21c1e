// `npm run build -w @onair/server`: compiles the server to plain JavaScript in server/dist, so
// `npm start` runs `node` on it with no TypeScript loader in the main process or the workers.
// `node scripts/build-server.mjs <folder>` builds into another folder inside the repository (a
// test does, so as not to replace a build that may be running); npm packages are found from there.
//
// esbuild rather than `tsc` emit: the sources import each other without extensions and
// `@onair/protocol` exports its TypeScript sources, neither of which Node resolves at run time;
// bundling resolves both and takes well under a second, and it is the transform tsx already
// applies in development and tests, so what runs is what was tested. Types are checked by
// `npm run typecheck`, not here. Every npm dependency stays an ordinary import resolved from
// node_modules at run time (node-datachannel is native, PGlite finds its .wasm beside itself).
//
// Layout: dist/main.js and the processes it starts beside it (dist/worker-main.js,
// dist/create-database.js), each found as `./<name>.js` next to the code that starts it, and the
// SQL migrations in dist/migrations.
import { cp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const server = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../server');
const dist = process.argv[2] ? path.resolve(process.argv[2]) : path.join(server, 'dist');
const manifest = JSON.parse(await readFile(path.join(server, 'package.json'), 'utf8'));
/** The workspace's own TypeScript packages are compiled in; everything from npm is not. */
const external = Object.keys(manifest.dependencies).filter((name) => !name.startsWith('@onair/'));

const started = performance.now();
await rm(dist, { recursive: true, force: true });
const result = await build({
  absWorkingDir: server,
  entryPoints: {
    main: 'src/main.ts',
    'worker-main': 'src/media/worker-main.ts',
    'create-database': 'src/db/create-database.ts',
  },
  outdir: dist,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
// A package imported by the server but missing from its dependencies would be compiled in
// silently (and then missing where the server is installed without the workspace): refuse.
const bundled = Object.keys(result.metafile.inputs).filter((file) => file.includes('node_modules'));
if (bundled.length > 0) {
  process.stderr.write(
    `server/package.json lacks dependencies imported by the server:\n  ${bundled.join('\n  ')}\n`,
  );
  process.exit(1);
}
await cp(path.join(server, 'src/db/migrations'), path.join(dist, 'migrations'), {
  recursive: true,
});
const elapsed = Math.round(performance.now() - started);
const where = path.relative(path.dirname(server), dist);
process.stdout.write(`server built into ${where} in ${elapsed} ms\n`);
