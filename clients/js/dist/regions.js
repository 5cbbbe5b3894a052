/**
 * Choosing the nearest region: each region URL is probed with `GET /v1/time` a few
 * times; the lowest round trip wins. The probes are clock samples too (the server's
 * `timestamp_ms` was read between the request and the answer), so the chosen
 * region's probes can seed the clock estimate. With a `sessionId` they ask for the
 * session's home timebase (`/v1/time?sessionId=`), with its `timebase_error_ms`.
 */
/** `http://host:port/` → `http://host:port` (no trailing slash). */
export function normalizeUrl(url) {
    return url.replace(/\/+$/, '');
}
/** The WebSocket URL of a region for a session (`http` → `ws`, `https` → `wss`). */
export function wsUrl(base, sessionId, token) {
    const u = normalizeUrl(base).replace(/^http(s?):\/\//i, (_m, s) => `ws${s}://`);
    let q = `sessionId=${encodeURIComponent(sessionId)}`;
    if (token)
        q += `&token=${encodeURIComponent(token)}`;
    return `${u}/ws?${q}`;
}
export function withTimeout(p, ms, env, what) {
    return new Promise((resolve, reject) => {
        const h = env.setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
        p.then((v) => {
            env.clearTimeout(h);
            resolve(v);
        }, (e) => {
            env.clearTimeout(h);
            reject(e);
        });
    });
}
/** Probes one region. */
export async function probeRegion(url, fetch, env, opts = {}) {
    const attempts = Math.max(1, opts.attempts ?? 3);
    const timeoutMs = opts.timeoutMs ?? 2000;
    const base = normalizeUrl(url);
    const samples = [];
    let roundTrip = Infinity;
    let error;
    let timebase;
    const query = opts.sessionId ? `?sessionId=${encodeURIComponent(opts.sessionId)}` : '';
    for (let i = 0; i < attempts; i++) {
        try {
            const t0 = env.now();
            const res = await withTimeout(fetch(`${base}/v1/time${query}`, { method: 'GET' }), timeoutMs, env, 'probe');
            const text = await withTimeout(res.text(), timeoutMs, env, 'probe');
            const t3 = env.now();
            if (!res.ok)
                throw new Error(`HTTP ${res.status}`);
            const body = JSON.parse(text);
            const ts = body.timestamp_ms;
            if (typeof ts !== 'number')
                throw new Error('no timestamp_ms');
            const serverError = typeof body.timebase_error_ms === 'number' ? body.timebase_error_ms : 0;
            if (typeof body.timebase === 'string') {
                // Another clock than the earlier probes': keep only this one's samples.
                if (timebase !== undefined && timebase !== body.timebase)
                    samples.length = 0;
                timebase = body.timebase;
            }
            samples.push({ t0, t1: ts, t2: ts, t3, serverError });
            roundTrip = Math.min(roundTrip, t3 - t0);
        }
        catch (e) {
            error = e instanceof Error ? e.message : String(e);
            if (samples.length === 0 && i === 0)
                break; // unreachable: do not wait for more timeouts
        }
    }
    if (samples.length === 0)
        return { url: base, roundTrip: Infinity, samples, error: error ?? 'no answer' };
    return timebase !== undefined ? { url: base, roundTrip, samples, timebase } : { url: base, roundTrip, samples };
}
/** Probes every region in parallel; results sorted nearest first (unreachable last, in the given order). */
export async function probeRegions(urls, fetch, env, opts = {}) {
    const results = await Promise.all(urls.map((u) => probeRegion(u, fetch, env, opts)));
    return results
        .map((r, i) => ({ r, i }))
        .sort((a, b) => (a.r.roundTrip === b.r.roundTrip ? a.i - b.i : a.r.roundTrip - b.r.roundTrip))
        .map(({ r }) => r);
}
