/**
 * SyncKairos players' client. See README.md.
 */
export { SyncKairosClient } from './client.js';
export type {
  ClockOptions,
  DisconnectInfo,
  ReconnectOptions,
  SyncKairosEvents,
  SyncKairosOptions,
  TickFrame,
  Token,
} from './client.js';
export { ClockSync } from './clock.js';
export type { ClockEstimate, ClockSample, ClockSyncOptions } from './clock.js';
export { backoffDelay } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { defaultEnv } from './env.js';
export type { Env, FetchLike, FetchResponseLike, WebSocketConstructor, WebSocketLike } from './env.js';
export { SyncKairosError } from './errors.js';
export { normalizeUrl, probeRegion, probeRegions, wsUrl } from './regions.js';
export type { ProbeOptions, ProbeResult } from './regions.js';
export {
  activeParticipantId,
  compareStamps,
  expiresAt,
  isNewer,
  parseInstant,
  projected,
  remainingAt,
  runningSince,
  sharers,
  stampOf,
  startsAt,
  usedAt,
} from './timing.js';
export type { Stamp } from './timing.js';
export type {
  CommandResult,
  LagCompensation,
  Op,
  Participant,
  SessionState,
  SessionStatus,
  SwitchOptions,
  SyncMode,
  TimeExpiredMessage,
  TimeWarningMessage,
  TimeoutAction,
} from './types.js';
