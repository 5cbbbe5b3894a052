/**
 * What the client needs from its surroundings, injectable for tests (fake clocks and
 * timers) and for runtimes without some globals (Node 18 has no WebSocket).
 * The library's own type declarations do not depend on the DOM or Node typings.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const g = globalThis;
/** The runtime's own clock, timers and frames. */
export function defaultEnv() {
    const perf = g.performance;
    const now = perf && typeof perf.now === 'function' && typeof perf.timeOrigin === 'number'
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
export function globalWebSocket() {
    return typeof g.WebSocket === 'function' ? g.WebSocket : undefined;
}
export function globalFetch() {
    return typeof g.fetch === 'function' ? g.fetch.bind(g) : undefined;
}
/** Text of a message event's `data` (string, or bytes from some implementations). */
export function messageText(data) {
    if (typeof data === 'string')
        return data;
    if (data && typeof data === 'object' && typeof g.TextDecoder === 'function') {
        try {
            if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
                return new g.TextDecoder().decode(data);
            }
        }
        catch {
            return null;
        }
    }
    return null;
}
