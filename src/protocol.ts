/**
 * The wire protocol of /notebook-sync/ws (JSON text frames), as typed messages.
 */

export type SyncStatus = 'fast_forward' | 'merged' | 'replaced' | 'kept' | 'conflict';
export type SessionMode = 'ydoc' | 'json';
export type ErrorCode =
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
  | 'internal'
  | 'timeout'
  | 'disconnected';

export interface ICellContent {
  source: string;
  cell_type?: string;
  metadata?: { [key: string]: unknown };
}

export interface ICellInfo {
  cell_id: string;
  seq: number;
  cell_type?: string;
  sync_allowed?: boolean;
  index?: number;
  pulled_seq?: number | null;
}

export interface IRosterStudent {
  student_id: string;
  name: string;
  online: boolean;
  pulled: { [cellId: string]: number };
}

export interface ISessionCreated {
  type: 'session_created';
  session_code: string;
  teacher_key: string;
  title: string;
  mode: SessionMode;
}

export interface ISessionResumed {
  type: 'session_resumed';
  session_code: string;
  title: string;
  mode: SessionMode;
  status: string;
  cells: ICellInfo[];
}

export interface ISessionJoined {
  type: 'session_joined';
  session_code: string;
  title: string;
  mode: SessionMode;
  student_id: string;
  student_key: string;
  name: string;
  resumed: boolean;
  cells: ICellInfo[];
}

export interface IPushAck {
  type: 'push_ack';
  cell_id: string;
  seq: number;
}

export interface IUpdateAvailable {
  type: 'update_available';
  session_code: string;
  cell_id: string;
  seq: number;
  cell_type?: string;
  index?: number;
  timestamp?: number | string;
}

export interface ISyncAllowedUpdate {
  type: 'sync_allowed_update';
  cell_id: string;
  sync_allowed: boolean;
  seq?: number;
  timestamp?: number | string;
}

export interface ICellRemoved {
  type: 'cell_removed';
  cell_id: string;
  seq?: number;
}

export interface IRosterUpdate {
  type: 'roster_update';
  students: IRosterStudent[];
}

export interface ISessionEnded {
  type: 'session_ended';
  session_code: string;
}

export interface ISessionLeft {
  type: 'session_left';
  session_code: string;
}

export interface ICellContentUpdate {
  type: 'cell_content_update';
  cell_id: string;
  seq: number;
  content: ICellContent;
  status: SyncStatus;
  update?: string;
  base?: string | null;
  mine?: string | null;
  theirs?: string | null;
  conflicts?: unknown;
}

export interface ICellPreview {
  type: 'cell_preview';
  cell_id: string;
  seq: number;
  content: ICellContent;
  status: SyncStatus;
  source: string;
  base?: string | null;
  conflicts?: unknown;
}

export interface IErrorMessage {
  type: 'error';
  code: ErrorCode | string;
  message: string;
  req_id?: string;
}

export interface IPong {
  type: 'pong';
}

export type ServerMessage =
  | ISessionCreated
  | ISessionResumed
  | ISessionJoined
  | IPushAck
  | IUpdateAvailable
  | ISyncAllowedUpdate
  | ICellRemoved
  | IRosterUpdate
  | ISessionEnded
  | ISessionLeft
  | ICellContentUpdate
  | ICellPreview
  | IErrorMessage
  | IPong;

/** Client messages: the type plus its fields; `req_id` is added by the connection. */
export interface IClientMessage {
  type: string;
  [key: string]: unknown;
}

/** An `error` reply (or a local failure) as a throwable. */
export class SyncError extends Error {
  constructor(
    readonly code: ErrorCode | string,
    message: string
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/** Human wording for error codes shown to teachers and students. */
export function describeError(code: string, message?: string): string {
  switch (code) {
    case 'session_not_found':
      return 'No session with that code.';
    case 'session_ended':
      return 'The session has ended.';
    case 'sync_not_allowed':
      return 'The teacher has locked this cell.';
    case 'no_update':
      return 'Nothing new to pull for this cell.';
    case 'rate_limited':
      return 'Too many attempts; wait a moment and try again.';
    case 'forbidden':
      return 'Not allowed.';
    case 'store_unavailable':
      return 'The sync store is unavailable; the change was not saved. Try again.';
    case 'disconnected':
      return 'Not connected to the sync server.';
    case 'timeout':
      return 'The sync server did not answer in time.';
    default:
      return message || code;
  }
}
