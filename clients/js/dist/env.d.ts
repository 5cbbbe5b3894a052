/**
 * What the client needs from its surroundings, injectable for tests (fake clocks and
 * timers) and for runtimes without some globals (Node 18 has no WebSocket).
 * The library's own type declarations do not depend on the DOM or Node typings.
 */
/** The subset of the WHATWG WebSocket the client uses (browsers, Node 22, `ws`). */
export interface WebSocketLike {
    readonly readyState: number;
    onopen: ((ev: unknown) => void) | null;
    onmessage: ((ev: {
        data: unknown;
    }) => void) | null;
    onclose: ((ev: {
        code: number;
        reason: string;
    }) => void) | null;
    onerror: ((ev: unknown) => void) | null;
    send(data: string): void;
    close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;
export interface FetchResponseLike {
    readonly ok: boolean;
    readonly status: number;
    text(): Promise<string>;
}
export type FetchLike = (url: string, init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal?: unknown;
}) => Promise<FetchResponseLike>;
export interface Env {
    /**
     * The client clock in epoch milliseconds, monotonic and sub-millisecond where the
     * runtime allows (default `performance.timeOrigin + performance.now()`). Clock sync
     * measures the server's offset against this clock.
     */
    now(): number;
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
    /** Display-rate callback (default `requestAnimationFrame` where it exists). */
    requestFrame?: ((cb: () => void) => unknown) | undefined;
    cancelFrame?: ((handle: unknown) => void) | undefined;
    /** [0, 1), for backoff jitter and request ids. */
    random(): number;
}
/** The runtime's own clock, timers and frames. */
export declare function defaultEnv(): Env;
export declare function globalWebSocket(): WebSocketConstructor | undefined;
export declare function globalFetch(): FetchLike | undefined;
/** Text of a message event's `data` (string, or bytes from some implementations). */
export declare function messageText(data: unknown): string | null;
