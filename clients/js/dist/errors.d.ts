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
export declare class SyncKairosError extends Error {
    readonly code: string;
    /** HTTP status for REST answers. */
    readonly status: number | undefined;
    readonly details: unknown;
    readonly requestId: string | undefined;
    constructor(code: string, message: string, extra?: {
        status?: number;
        details?: unknown;
        requestId?: string;
    });
}
