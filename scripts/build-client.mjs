#!/usr/bin/env node
// Bundles the browser client (src/archivist/web/src) with esbuild into the two files the server
// ships: static/archivist.js (IIFE, global OT) and static/archivist.esm.js (ES module).
// `--check` builds in memory and fails when the committed bundles differ from a fresh build.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'src', 'archivist', 'web');
const check = process.argv.includes('--check');

const banner = (name) => `/*! ${name}: Archivist's browser client (OpenTok.js API). Built by esbuild from
 * src/archivist/web/src (npm run build): edit the sources, not this file. docs/client.md. */`;

const common = {
  bundle: true,
  write: false,
  target: ['es2022'],
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'inline',
  logLevel: 'warning',
};

const outputs = [
  { entry: 'index.js', out: 'archivist.js', format: 'iife' },
  { entry: 'esm.js', out: 'archivist.esm.js', format: 'esm' },
];

let stale = 0;
for (const { entry, out, format } of outputs) {
  const result = await build({ ...common, banner: { js: banner(out) }, entryPoints: [join(web, 'src', entry)], format, outfile: join(web, 'static', out) });
  const text = result.outputFiles[0].text;
  const path = join(web, 'static', out);
  if (check) {
    let current = '';
    try { current = readFileSync(path, 'utf8'); } catch { /* missing */ }
    if (current !== text) {
      console.error(`${path} differs from a fresh build: run \`npm run build\` and commit it`);
      stale += 1;
    }
  } else {
    writeFileSync(path, text);
    console.log(`${out}: ${text.length} bytes`);
  }
}
process.exit(stale ? 1 : 0);
