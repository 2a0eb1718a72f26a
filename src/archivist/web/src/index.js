/*!
 * archivist.js: the browser client of Archivist, shaped like OpenTok.js.
 * Load it with <script src="https://your-archivist-host/static/archivist.js"></script> and use
 * the global OT (aliases: Archivist, and TB when nothing else defines it). Built from
 * src/archivist/web/src by esbuild (npm run build); docs/client.md describes the API.
 */
import { config } from './config.js';
import { OT } from './ot.js';

if (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) {
  config.setScriptUrl(document.currentScript.src);
}

const g = typeof window !== 'undefined' ? window : globalThis;
g.OT = OT;
g.Archivist = OT;
if (!g.TB) g.TB = OT;
