/**
 * Error codes: those of the server's `error {code, message}` reply and the two the connection
 * raises itself, and the error thrown for both.
 */

/** The server's codes (`ERROR_CODES` in notebook_sync_ydoc/protocol/validation.py). */
export type ServerErrorCode =
  | 'invalid_message'
  | 'unknown_type'
  | 'too_large'
  | 'rate_limited'
  | 'session_not_found'
  | 'session_ended'
  | 'not_in_session'
  | 'forbidden'
  | 'sync_not_allowed'
  | 'cell_not_found'
  | 'no_update'
  | 'store_unavailable'
  | 'internal';

/** Raised by the connection: no reply in time, or no socket. */
export type LocalErrorCode = 'timeout' | 'disconnected';

export type ErrorCode = ServerErrorCode | LocalErrorCode;

/** An `error` reply (or a local failure) as a throwable. */
export class SyncError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/** Codes after which there is no session to come back to: stop reconnecting, forget it. */
export type FinalErrorCode =
  'session_not_found' | 'session_ended' | 'forbidden';

const FINAL_CODES: ReadonlySet<ErrorCode> = new Set<FinalErrorCode>([
  'session_not_found',
  'session_ended',
  'forbidden'
]);

/** Is this the end of the session (not a transient failure worth retrying)? */
export function endsSession(
  err: unknown
): err is SyncError & { readonly code: FinalErrorCode } {
  return err instanceof SyncError && FINAL_CODES.has(err.code);
}
