/**
 * Errors as OpenTok.js reports them: an Error whose `name` is one of the OT_* names below and
 * whose `code` is one of OpenTok.js's exception codes (OT.ExceptionCodes).
 */

/** OpenTok.js's exception codes (OT.ExceptionCodes). */
export const ExceptionCodes = Object.freeze({
  JS_EXCEPTION: 2000,
  AUTHENTICATION_ERROR: 1004,
  INVALID_SESSION_ID: 1005,
  CONNECT_FAILED: 1006,
  CONNECT_REJECTED: 1007,
  CONNECTION_TIMEOUT: 1008,
  NOT_CONNECTED: 1010,
  INVALID_PARAMETER: 1011,
  P2P_CONNECTION_FAILED: 1013,
  API_RESPONSE_FAILURE: 1014,
  PEER_CONNECTION_NOT_CONNECTED: 1015,
  TERMS_OF_SERVICE_FAILURE: 1026,
  CONNECTION_LIMIT_EXCEEDED: 1027,
  SET_VIDEO_SOURCE_FAILURE: 1040,
  INVALID_VIDEO_SOURCE: 1041,
  UNABLE_TO_PUBLISH: 1500,
  UNABLE_TO_SUBSCRIBE: 1501,
  UNSUPPORTED_VIDEO_CODEC: 1502,
  UNABLE_TO_FORCE_DISCONNECT: 1520,
  UNABLE_TO_FORCE_UNPUBLISH: 1530,
  UNABLE_TO_FORCE_MUTE: 1540,
  PUBLISHER_ICE_WORKFLOW_FAILED: 1553,
  SUBSCRIBER_ICE_WORKFLOW_FAILED: 1554,
  STREAM_LIMIT_EXCEEDED: 1605,
  UNEXPECTED_SERVER_RESPONSE: 2001,
  REPORT_ISSUE_ERROR: 2011,
  GET_RTC_STATS_REPORT_NOT_SUPPORTED: 2031,
});

/** The error names (error.name) used by this library, as OpenTok.js spells them. */
export const Errors = Object.freeze({
  AUTHENTICATION_ERROR: 'OT_AUTHENTICATION_ERROR',
  CONNECT_FAILED: 'OT_CONNECT_FAILED',
  CONNECT_REJECTED: 'OT_CONNECT_REJECTED',
  CONNECTION_TIMEOUT: 'OT_CONNECTION_TIMEOUT',
  CONSTRAINTS_NOT_SATISFIED: 'OT_CONSTRAINTS_NOT_SATISFIED',
  CREATE_PEER_CONNECTION_FAILED: 'OT_CREATE_PEER_CONNECTION_FAILED',
  DISCONNECTED: 'OT_DISCONNECTED',
  HARDWARE_UNAVAILABLE: 'OT_HARDWARE_UNAVAILABLE',
  ICE_WORKFLOW_FAILED: 'OT_ICE_WORKFLOW_FAILED',
  INVALID_AUDIO_OUTPUT_SOURCE: 'OT_INVALID_AUDIO_OUTPUT_SOURCE',
  INVALID_PARAMETER: 'OT_INVALID_PARAMETER',
  INVALID_SESSION_ID: 'OT_INVALID_SESSION_ID',
  INVALID_VIDEO_SOURCE: 'OT_INVALID_VIDEO_SOURCE',
  MEDIA_ENDED: 'OT_MEDIA_ENDED',
  NO_DEVICES_FOUND: 'OT_NO_DEVICES_FOUND',
  NO_VALID_CONSTRAINTS: 'OT_NO_VALID_CONSTRAINTS',
  NOT_CONNECTED: 'OT_NOT_CONNECTED',
  NOT_FOUND: 'OT_NOT_FOUND',
  NOT_SUPPORTED: 'OT_NOT_SUPPORTED',
  PERMISSION_DENIED: 'OT_PERMISSION_DENIED',
  RATE_LIMIT_EXCEEDED: 'OT_RATE_LIMIT_EXCEEDED',
  SCREEN_SHARING_NOT_SUPPORTED: 'OT_SCREEN_SHARING_NOT_SUPPORTED',
  SET_REMOTE_DESCRIPTION_FAILED: 'OT_SET_REMOTE_DESCRIPTION_FAILED',
  SET_VIDEO_SOURCE_FAILURE: 'OT_SET_VIDEO_SOURCE_FAILURE',
  STREAM_CREATE_FAILED: 'OT_STREAM_CREATE_FAILED',
  STREAM_DESTROYED: 'OT_STREAM_DESTROYED',
  STREAM_NOT_FOUND: 'OT_STREAM_NOT_FOUND',
  TIMEOUT: 'OT_TIMEOUT',
  UNABLE_TO_CAPTURE_MEDIA: 'OT_UNABLE_TO_CAPTURE_MEDIA',
  UNABLE_TO_CAPTURE_SCREEN: 'OT_UNABLE_TO_CAPTURE_SCREEN',
  UNABLE_TO_SUBSCRIBE: 'OT_UNABLE_TO_SUBSCRIBE',
  UNEXPECTED_SERVER_RESPONSE: 'OT_UNEXPECTED_SERVER_RESPONSE',
  UNSUPPORTED_BROWSER: 'OT_UNSUPPORTED_BROWSER',
  USER_MEDIA_ACCESS_DENIED: 'OT_USER_MEDIA_ACCESS_DENIED',
});

/** Titles of the `exception` events, by code (as OpenTok.js titles them). */
export const ErrorTitles = Object.freeze({
  1004: 'Authentication error',
  1005: 'Invalid Session ID',
  1006: 'Connect Failed',
  1007: 'Connect Rejected',
  1008: 'Connect Time-out',
  1010: 'Not Connected',
  1011: 'Invalid Parameter',
  1015: 'PeerConnection not connected, cannot call this method',
  1040: 'Set Video Source Failure',
  1041: 'Invalid Video Source',
  1500: 'Unable to Publish',
  1501: 'Unable to Subscribe',
  1520: 'Unable to Force Disconnect',
  1530: 'Unable to Force Unpublish',
  1540: 'Unable to Force Mute',
  1553: 'Publisher ICEWorkflow failed',
  1554: 'Subscriber ICEWorkflow failed',
  2000: 'Internal Error',
  2001: 'Unexpected Server Response',
});

/** The error handed to completion handlers and promise rejections: `name`, `code`, `message`. */
export class OTError extends Error {
  constructor(name, message, code) {
    super(message || name);
    this.name = name;
    if (code !== undefined) this.code = code;
  }
}

export function otError(name, message, code) {
  return new OTError(name, message, code);
}

export function notConnected(what, code = ExceptionCodes.NOT_CONNECTED) {
  return otError(Errors.NOT_CONNECTED, `${what ? `${what}: ` : ''}the client is not connected to the session`, code);
}

/** The error of a refused connect, from the WebSocket close code (docs/protocol.md). */
export function connectErrorFromClose(code, serverMessage) {
  const msg = serverMessage ? ` (${serverMessage})` : '';
  const auth = (text) => otError(Errors.AUTHENTICATION_ERROR, text + msg, ExceptionCodes.AUTHENTICATION_ERROR);
  switch (code) {
    case 4001: return auth('invalid token');
    case 4002: return auth('token expired');
    case 4003: return otError(Errors.PERMISSION_DENIED, `forbidden${msg}`, ExceptionCodes.CONNECT_REJECTED);
    case 4004: return auth('session not found, or the token is for another session or API key');
    case 4008: return otError(Errors.CONNECT_REJECTED, `force-disconnected${msg}`, ExceptionCodes.CONNECT_REJECTED);
    case 4408: return otError(Errors.CONNECTION_TIMEOUT, `connect timed out${msg}`, ExceptionCodes.CONNECTION_TIMEOUT);
    case 4400: return otError(Errors.CONNECT_FAILED, `malformed connect request${msg}`, ExceptionCodes.CONNECT_FAILED);
    case 1001: return otError(Errors.CONNECT_FAILED, `server shutting down${msg}`, ExceptionCodes.CONNECT_FAILED);
    default:
      return otError(Errors.CONNECT_FAILED,
        `could not connect to the signaling server (close code ${code})${msg}`, ExceptionCodes.CONNECT_FAILED);
  }
}

/** The OT error for a getUserMedia / getDisplayMedia failure (code 1500, as OpenTok.js). */
export function mediaError(err, screen = false) {
  const name = err && err.name;
  const detail = err ? `${err.name}: ${err.message}` : String(err);
  const code = ExceptionCodes.UNABLE_TO_PUBLISH;
  if (err instanceof OTError) return err;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return otError(Errors.USER_MEDIA_ACCESS_DENIED, `access to the ${screen ? 'screen' : 'camera/microphone'} was denied: ${detail}`, code);
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return otError(Errors.NO_DEVICES_FOUND, `no device found: ${detail}`, code);
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return otError(Errors.HARDWARE_UNAVAILABLE, `the device could not be started: ${detail}`, code);
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return otError(Errors.CONSTRAINTS_NOT_SATISFIED, `the constraints cannot be satisfied: ${detail}`, code);
    case 'NotSupportedError':
    case 'TypeError':
      return otError(screen ? Errors.SCREEN_SHARING_NOT_SUPPORTED : Errors.NOT_SUPPORTED, `not supported: ${detail}`, code);
    default:
      return otError(screen ? Errors.UNABLE_TO_CAPTURE_SCREEN : Errors.UNABLE_TO_CAPTURE_MEDIA, `could not capture media: ${detail}`, code);
  }
}
