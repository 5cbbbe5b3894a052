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
export class ClockSync {
    constructor(opts = {}) {
        this.kept = [];
        this.accepted = 0;
        this.maxSamples = Math.max(1, opts.maxSamples ?? 16);
        this.maxAgeMs = opts.maxAgeMs ?? 300000;
        this.drift = (opts.maxDriftPpm ?? 50) * 1e-6;
        this.serverRes = opts.serverResolutionMs ?? 1;
        this.clientRes = opts.clientResolutionMs ?? 0.1;
    }
    /** Samples accepted since the last reset. */
    get sampleCount() {
        return this.accepted;
    }
    /** Forgets everything (e.g. when switching to another server). */
    reset() {
        this.kept = [];
        this.accepted = 0;
    }
    /**
     * Adds one exchange. Returns `false` (and ignores it) when it is impossible
     * (answer before request, non-finite values).
     */
    addSample(s) {
        const { t0, t1, t2, t3 } = s;
        const e = s.serverError ?? 0;
        if (![t0, t1, t2, t3, e].every(Number.isFinite) || t3 < t0 || t2 < t1 || e < 0)
            return false;
        const lo = t2 - t3 - this.clientRes - e;
        const hi = t1 + this.serverRes - t0 + this.clientRes + e;
        if (hi < lo)
            return false;
        this.kept.push({ lo, hi, at: t3, roundTrip: t3 - t0 - (t2 - t1) });
        this.accepted += 1;
        this.prune(t3);
        return true;
    }
    /** The estimate at client time `now`, or `null` before the first sample. */
    estimate(now) {
        this.prune(now);
        if (this.kept.length === 0)
            return null;
        const { lo, hi } = this.intersect(now);
        return {
            offset: (lo + hi) / 2,
            errorBound: (hi - lo) / 2,
            roundTrip: Math.max(0, Math.min(...this.kept.map((k) => k.roundTrip))),
            samples: this.accepted,
        };
    }
    widen(k, now) {
        const w = Math.max(0, now - k.at) * this.drift;
        return { lo: k.lo - w, hi: k.hi + w };
    }
    /**
     * Intersection of the kept intervals at `now`, newest first; an older interval that
     * would empty it is inconsistent with newer evidence and is dropped with all older ones.
     */
    intersect(now) {
        const byAge = [...this.kept].sort((a, b) => b.at - a.at);
        let acc = this.widen(byAge[0], now);
        let keep = 1;
        for (; keep < byAge.length; keep++) {
            const w = this.widen(byAge[keep], now);
            const lo = Math.max(acc.lo, w.lo);
            const hi = Math.min(acc.hi, w.hi);
            if (lo > hi)
                break;
            acc = { lo, hi };
        }
        if (keep < byAge.length)
            this.kept = byAge.slice(0, keep);
        return acc;
    }
    prune(now) {
        this.kept = this.kept.filter((k) => now - k.at <= this.maxAgeMs);
        while (this.kept.length > this.maxSamples) {
            // Evict the widest interval as seen now (round trip plus drift for its age).
            let worst = 0;
            let worstWidth = -Infinity;
            this.kept.forEach((k, i) => {
                const w = this.widen(k, now);
                const width = w.hi - w.lo;
                if (width > worstWidth) {
                    worstWidth = width;
                    worst = i;
                }
            });
            this.kept.splice(worst, 1);
        }
    }
}
