/**
 * The wire protocol of /notebook-sync/ws (JSON text frames) as types.
 *
 * Client messages are generated from the shipped JSON Schema (`messages.generated.ts`); the
 * schema does not cover what the server sends, so the server messages are written here, with
 * the direct reply of every client message (`Replies`).
 */
import type { ServerErrorCode } from './errors';
import type {
  CellMetadata,
  CellType,
  ClientMessage,
  ClientMessageType
} from './messages.generated';

export * from './messages.generated';

export type SyncStatus =
  'fast_forward' | 'merged' | 'replaced' | 'kept' | 'conflict';
export type SessionMode = 'ydoc' | 'json';

/** A cell's content, as the teacher pushes it and as the server sends it back. */
export interface ICellContent {
  source: string;
  cell_type?: CellType;
  metadata?: CellMetadata;
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
  /** What the student typed. */
  name: string;
  /** Their Jupyter user (JupyterHub's), empty when the server has only anonymous users. */
  user?: string;
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

/** To the teacher's other tabs: what the server now holds of a cell one tab pushed. */
export interface ICellPushed {
  type: 'cell_pushed';
  cell_id: string;
  seq: number;
  source: string;
}

/** To a student's other tabs: one of them pulled this cell (up to `seq`). */
export interface ICellPulled {
  type: 'cell_pulled';
  cell_id: string;
  seq: number;
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

/**
 * `request_sync`'s reply as it arrives to a delta-pull client (one that sent `base_seq`):
 * with `delta`, `theirs_delta` turns its base into the teacher's text (checked by
 * `theirs_check`) and `content.source` is there only for a merge; without, `full_reason` says
 * why, and `theirs` is the teacher's text where `content.source` is not.
 */
export interface ICellContentReply extends Omit<ICellContentUpdate, 'content'> {
  content: Omit<ICellContent, 'source'> & { source?: string };
  delta?: boolean;
  theirs_delta?: string;
  theirs_check?: string;
  full_reason?: string;
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
  code: ServerErrorCode;
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
  | ICellPushed
  | ICellPulled
  | IRosterUpdate
  | ISessionEnded
  | ISessionLeft
  | ICellContentReply
  | ICellPreview
  | IErrorMessage
  | IPong;

/** Fails to compile unless every client message type has a reply. */
type ReplyTable<T extends Record<ClientMessageType, ServerMessage>> = T;

/** The direct reply (echoing `req_id`) of each client message; errors are `IErrorMessage`. */
export type Replies = ReplyTable<{
  create_session: ISessionCreated;
  resume_session: ISessionResumed;
  push_cell: IPushAck;
  toggle_sync: ISyncAllowedUpdate;
  remove_cell: ICellRemoved;
  end_session: ISessionEnded;
  join_session: ISessionJoined;
  request_sync: ICellContentReply;
  preview: ICellPreview;
  leave_session: ISessionLeft;
  ping: IPong;
}>;

export type ReplyTo<M extends ClientMessage> = Replies[M['type']];
