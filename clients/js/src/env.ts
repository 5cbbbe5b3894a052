/**
 * What the client needs from its surroundings, injectable for tests (fake clocks and
 * timers) and for runtimes without some globals (Node 18 has no WebSocket).
 * The library's own type declarations do not depend on the DOM or Node typings.
 */

/** The subset of the WHATWG WebSocket the client uses (browsers, Node 22, `ws`). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
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

export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: unknown },
) => Promise<FetchResponseLike>;

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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const g: any = globalThis;

/** The runtime's own clock, timers and frames. */
export function defaultEnv(): Env {
  const perf = g.performance;
  const now: () => number =
    perf && typeof perf.now === 'function' && typeof perf.timeOrigin === 'number'
      ? () => perf.timeOrigin + perf.now()
      : () => Date.now();
  const hasFrames = typeof g.requestAnimationFrame === 'function';
  return {
    now,
    setTimeout: (fn, ms) => g.setTimeout(fn, ms),
    clearTimeout: (h) => g.clearTimeout(h),
    requestFrame: hasFrames ? (cb) => g.requestAnimationFrame(() => cb()) : undefined,
    cancelFrame: hasFrames ? (h) => g.cancelAnimationFrame(h) : undefined,
    random: () => Math.random(),
  };
}

export function globalWebSocket(): WebSocketConstructor | undefined {
  return typeof g.WebSocket === 'function' ? (g.WebSocket as WebSocketConstructor) : undefined;
}

export function globalFetch(): FetchLike | undefined {
  return typeof g.fetch === 'function' ? (g.fetch.bind(g) as FetchLike) : undefined;
}

/** Text of a message event's `data` (string, or bytes from some implementations). */
export function messageText(data: unknown): string | null {
  if (typeof data === 'string') return data;
  if (data && typeof data === 'object' && typeof g.TextDecoder === 'function') {
    try {
      if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        return new g.TextDecoder().decode(data);
      }
    } catch {
      return null;
    }
  }
  return null;
}
