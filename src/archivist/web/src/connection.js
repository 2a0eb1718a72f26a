/** A client connected to a session. */
export class Connection {
  constructor(raw = {}) {
    this.connectionId = raw.connectionId;
    this.id = raw.connectionId;
    this.creationTime = raw.creationTime;
    this.data = raw.data === undefined || raw.data === null ? '' : raw.data;
  }
}
