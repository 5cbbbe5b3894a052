/**
 * SyncKairos players' client. See README.md.
 */
export { SyncKairosClient } from './client.js';
export { ClockSync } from './clock.js';
export { backoffDelay } from './backoff.js';
export { defaultEnv } from './env.js';
export { SyncKairosError } from './errors.js';
export { normalizeUrl, probeRegion, probeRegions, wsUrl } from './regions.js';
export { activeParticipantId, compareStamps, expiresAt, isNewer, parseInstant, projected, remainingAt, runningSince, sharers, stampOf, startsAt, usedAt, } from './timing.js';
