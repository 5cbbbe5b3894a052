/**
 * Wire types: the session state and the WebSocket messages as the server sends them
 * (CONTRACT.md, README "Extensions"). Unknown fields are kept as they come.
 */
export {};
