/** Reconnect delays: exponential with jitter, capped. */
/** The delay before reconnect attempt `attempt` (0 = the first retry). */
export function backoffDelay(attempt, opts = {}, random = Math.random) {
    const initial = opts.initialMs ?? 250;
    const max = opts.maxMs ?? 10000;
    const factor = opts.factor ?? 2;
    const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
    const d = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
    return d * (1 - jitter * random());
}
