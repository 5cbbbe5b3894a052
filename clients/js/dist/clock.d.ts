/**
 * NTP-style estimation of the offset between this client's clock and the server's.
 *
 * A `PING {timestamp: t0}` answered by `PONG {client_timestamp: t0,
 * server_receive_timestamp: t1, server_send_timestamp: t2}` and received at t3 proves
 * that the server's clock read t1 some time after t0 and t2 some time before t3, so
 * the offset θ (server = client + θ) lies in
 *
 *     [t2 − t3, t1 − t0 + serverResolution]      (widened by clientResolution)
 *
 * an interval of width `roundTrip + serverResolution` where roundTrip =
 * (t3 − t0) − (t2 − t1) (the server stamps whole milliseconds, truncated, hence the
 * resolution term). The estimate is the intersection of the kept samples' intervals
 * (each widened by `maxDriftPpm` for its age, since the two clocks may run at slightly
 * different rates): its midpoint is `offset`, its half-width `errorBound`. With one
 * sample that is ± half the round trip (+ half the resolution); low-round-trip samples
 * dominate, and several samples together can be tighter than the best one alone.
 *
 * A server that answers in another region's timebase (the session's home, whose clock
 * it estimates) says how far off its reading of that clock may be (`serverError`,
 * `PONG.timebase_error_ms`): each interval is widened by it on both sides.
 *
 * If the intervals do not intersect, an assumption broke (a clock stepped, or drifted
 * faster than `maxDriftPpm`): the newest samples win and older ones are dropped.
 */
export interface ClockSample {
    /** Client clock when the request left. */
    t0: number;
    /** Server clock when the request arrived (whole ms, truncated). */
    t1: number;
    /** Server clock when the answer left. */
    t2: number;
    /** Client clock when the answer arrived. */
    t3: number;
    /** ± ms the server's t1/t2 may be off the clock they are in (default 0). */
    serverError?: number;
}
export interface ClockEstimate {
    /** server clock − client clock, ms. */
    offset: number;
    /** The true offset is within `offset ± errorBound`. */
    errorBound: number;
    /** Lowest round trip among the kept samples (ms, server time excluded; the server's whole-ms stamps can make it look shorter than it was). */
    roundTrip: number;
    /** Samples accepted since the last reset. */
    samples: number;
}
export interface ClockSyncOptions {
    /** Samples kept (the widest are evicted first). Default 16. */
    maxSamples?: number;
    /** Samples older than this are dropped. Default 300 000 ms. */
    maxAgeMs?: number;
    /** Assumed worst rate difference between the two clocks. Default 50 ppm. */
    maxDriftPpm?: number;
    /** Granularity of the server's timestamps. Default 1 ms (the server truncates to ms). */
    serverResolutionMs?: number;
    /** Granularity of the client's clock. Default 0.1 ms (browsers coarsen `performance.now`). */
    clientResolutionMs?: number;
}
export declare class ClockSync {
    private readonly maxSamples;
    private readonly maxAgeMs;
    private readonly drift;
    private readonly serverRes;
    private readonly clientRes;
    private kept;
    private accepted;
    constructor(opts?: ClockSyncOptions);
    /** Samples accepted since the last reset. */
    get sampleCount(): number;
    /** Forgets everything (e.g. when switching to another server). */
    reset(): void;
    /**
     * Adds one exchange. Returns `false` (and ignores it) when it is impossible
     * (answer before request, non-finite values).
     */
    addSample(s: ClockSample): boolean;
    /** The estimate at client time `now`, or `null` before the first sample. */
    estimate(now: number): ClockEstimate | null;
    private widen;
    /**
     * Intersection of the kept intervals at `now`, newest first; an older interval that
     * would empty it is inconsistent with newer evidence and is dropped with all older ones.
     */
    private intersect;
    private prune;
}
