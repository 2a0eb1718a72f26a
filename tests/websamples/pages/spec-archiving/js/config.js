// The base URL of the web service the app calls to start and stop archives and play them back.
var SAMPLE_SERVER_BASE_URL = 'http://ARCHIVIST_SERVER';
