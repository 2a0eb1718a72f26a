// The test web service: the Archivist sample app.
const SAMPLE_SERVER_BASE_URL = 'http://ARCHIVIST_SERVER';
