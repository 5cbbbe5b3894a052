/**
 * Choosing the nearest region: each region URL is probed with `GET /v1/time` a few
 * times; the lowest round trip wins. The probes are clock samples too (the server's
 * `timestamp_ms` was read between the request and the answer), so the chosen
 * region's probes can seed the clock estimate. With a `sessionId` they ask for the
 * session's home timebase (`/v1/time?sessionId=`), with its `timebase_error_ms`.
 */
import type { ClockSample } from './clock.js';
import type { Env, FetchLike } from './env.js';
export interface ProbeOptions {
    /** Requests per region (the first one also pays for the connection). Default 3. */
    attempts?: number;
    /** Per request. Default 2000 ms. */
    timeoutMs?: number;
    /** Ask for this session's home timebase. */
    sessionId?: string;
}
export interface ProbeResult {
    url: string;
    /** Lowest round trip measured (ms); `Infinity` when the region did not answer. */
    roundTrip: number;
    /** One clock sample per answered request (t1 = t2 = `timestamp_ms`). */
    samples: ClockSample[];
    /** The region whose clock the samples are of (`timebase`), when the server says. */
    timebase?: string;
    error?: string;
}
/** `http://host:port/` → `http://host:port` (no trailing slash). */
export declare function normalizeUrl(url: string): string;
/** The WebSocket URL of a region for a session (`http` → `ws`, `https` → `wss`). */
export declare function wsUrl(base: string, sessionId: string, token?: string): string;
export declare function withTimeout<T>(p: Promise<T>, ms: number, env: Pick<Env, 'setTimeout' | 'clearTimeout'>, what: string): Promise<T>;
/** Probes one region. */
export declare function probeRegion(url: string, fetch: FetchLike, env: Env, opts?: ProbeOptions): Promise<ProbeResult>;
/** Probes every region in parallel; results sorted nearest first (unreachable last, in the given order). */
export declare function probeRegions(urls: string[], fetch: FetchLike, env: Env, opts?: ProbeOptions): Promise<ProbeResult[]>;
