/**
 * Symbols for the library's internal calls between its classes (Session <-> Publisher,
 * Session <-> Subscriber, Session -> Stream/Collection). They are not part of the OpenTok.js API:
 * an application has no reason to use them and they may change in any release.
 */
export const kAdd = Symbol('archivist.add');
export const kRemove = Symbol('archivist.remove');
export const kClear = Symbol('archivist.clear');
export const kUpdate = Symbol('archivist.update');
export const kDispatchTo = Symbol('archivist.dispatchTo');
export const kListenersChanged = Symbol('archivist.listenersChanged');
export const kListenerCount = Symbol('archivist.listenerCount');

// Session -> Publisher
export const kPublishTo = Symbol('archivist.publishTo');
export const kStreamCreated = Symbol('archivist.streamCreated');
export const kStreamDestroyed = Symbol('archivist.streamDestroyed');
export const kSetArchiving = Symbol('archivist.setArchiving');
export const kDetach = Symbol('archivist.detach');
export const kMuteForced = Symbol('archivist.muteForced');
export const kResync = Symbol('archivist.resync');

// Session -> Subscriber
export const kStart = Symbol('archivist.start');
export const kTeardown = Symbol('archivist.teardown');
export const kStreamChanged = Symbol('archivist.streamChanged');
