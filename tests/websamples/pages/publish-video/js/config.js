// The test web service: the Archivist sample app (its GET /session gives apiKey, sessionId, token).
const SAMPLE_SERVER_BASE_URL = 'http://ARCHIVIST_SERVER';
// Or credentials set by hand (left empty: the service is used).
const API_KEY = '';
const SESSION_ID = '';
const TOKEN = '';
