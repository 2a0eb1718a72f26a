/*!
 * archivist.esm.js: the browser client of Archivist as an ES module.
 *   import OT from 'https://your-archivist-host/static/archivist.esm.js';
 * The default signaling URL comes from the module's own URL. docs/client.md describes the API.
 */
import { config } from './config.js';
import { OT } from './ot.js';

config.setScriptUrl(import.meta.url);

export default OT;
export { OT };
export const {
  Session, Publisher, Subscriber, Stream, Connection, Event, EventDispatcher, OTError, ExceptionCodes,
  initSession, initPublisher, getUserMedia, getDevices, checkSystemRequirements, checkScreenSharingCapability,
} = OT;
