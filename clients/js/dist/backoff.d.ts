/** Reconnect delays: exponential with jitter, capped. */
export interface BackoffOptions {
    /** First delay. Default 250 ms. */
    initialMs?: number;
    /** Cap. Default 10 000 ms. */
    maxMs?: number;
    /** Growth per failed attempt. Default 2. */
    factor?: number;
    /**
     * Fraction of the delay that is random: the delay is uniform in
     * [(1 − jitter) · d, d]. Default 0.5 (spreads a crowd reconnecting after a restart).
     */
    jitter?: number;
}
/** The delay before reconnect attempt `attempt` (0 = the first retry). */
export declare function backoffDelay(attempt: number, opts?: BackoffOptions, random?: () => number): number;
