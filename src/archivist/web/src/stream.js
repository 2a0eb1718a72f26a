/** A published stream, as the server describes it (docs/protocol.md). */
import { Connection } from './connection.js';
import { kUpdate } from './internal.js';

const WATCHED = ['hasAudio', 'hasVideo', 'videoDimensions', 'name'];

export class Stream {
  constructor(raw, connection) {
    this[kUpdate](raw, connection);
  }

  /** Takes the server's fields; returns [{changedProperty, oldValue, newValue}] for what changed. */
  [kUpdate](raw = {}, connection = undefined) {
    const before = Object.fromEntries(WATCHED.map((k) => [k, this[k]]));
    const first = this.streamId === undefined;
    this.streamId = raw.streamId;
    this.id = raw.streamId;
    this.connection = connection || new Connection(raw.connection || { connectionId: raw.connectionId });
    this.name = raw.name === undefined || raw.name === null ? '' : raw.name;
    this.hasAudio = raw.hasAudio !== false;
    this.hasVideo = raw.hasVideo !== false;
    this.hasCaptions = false;
    this.initials = raw.initials || '';
    this.videoType = raw.videoType || (this.hasVideo ? 'camera' : undefined);
    this.creationTime = raw.creationTime;
    this.videoDimensions = raw.videoDimensions || null;
    this.frameRate = raw.frameRate || null;
    if (first) return [];
    return WATCHED.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(this[k]))
      .map((k) => ({ changedProperty: k, oldValue: before[k], newValue: this[k] }));
  }
}
