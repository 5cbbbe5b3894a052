/**
 * Errors the client reports. `code` is the server's error code (`CONFLICT`,
 * `INVALID_STATE_TRANSITION`, `NOT_FOUND`, `SESSION_NOT_FOUND`, `RATE_LIMIT_EXCEEDED`,
 * …) or one of the client's own:
 * - `TIMEOUT`: no answer in time (the command may or may not have been applied);
 * - `DISCONNECTED`: the socket closed before the answer (same);
 * - `CLOSED`: the client was closed;
 * - `NETWORK`: the request could not be sent or its answer not read;
 * - `PROTOCOL`: the server closed the socket for a protocol or policy reason (terminal).
 */
export class SyncKairosError extends Error {
    constructor(code, message, extra = {}) {
        super(message);
        this.name = 'SyncKairosError';
        this.code = code;
        this.status = extra.status;
        this.details = extra.details;
        this.requestId = extra.requestId;
    }
}
