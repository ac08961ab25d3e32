// Generated from notebook_sync_ydoc/schema/protocol.schema.json by tools/gen-protocol-types.mjs.
// Do not edit: change the schema and run `jlpm gen:protocol`.

/**
 * notebook-sync-ydoc websocket protocol (client to server)
 *
 * Every client frame is a JSON object with a `type`. Any message may carry `req_id`; the
 * direct reply echoes it. Size bounds that depend on configuration (message bytes, source
 * bytes, cells per session) are checked by the server after schema validation and answered
 * with `too_large`.
 */

/** Schema: minLength 1, maxLength 64. */
export type ReqId = string;

/** Schema: pattern `^[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjklmnpqrstuvwxyz]{6,16}$`. */
export type SessionCode = string;

/** Schema: pattern `^[A-Za-z0-9_.:-]{1,128}$`. */
export type CellId = string;

/** Schema: pattern `^[A-Za-z0-9_-]+$`, minLength 16, maxLength 128. */
export type Key = string;

export type CellType = 'code' | 'markdown' | 'raw';

export type Source = string;

export type CellMetadata = { [key: string]: unknown };

/** The `create_session` message. */
export interface ICreateSessionMessage {
  type: 'create_session';
  req_id?: ReqId;
  /** Schema: maxLength 200. */
  title?: string;
  [key: string]: unknown;
}

/** The `resume_session` message. */
export interface IResumeSessionMessage {
  type: 'resume_session';
  req_id?: ReqId;
  session_code: SessionCode;
  teacher_key: Key;
}

/** The `push_cell` message. */
export interface IPushCellMessage {
  type: 'push_cell';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
  /** Schema: minimum 0, maximum 1000000. */
  index?: number;
  sync_allowed?: boolean;
  content: {
    source: string | string[];
    cell_type?: CellType;
    metadata?: CellMetadata;
  };
  metadata?: {
    sync_allowed?: boolean;
  };
}

/** The `toggle_sync` message. */
export interface IToggleSyncMessage {
  type: 'toggle_sync';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
  sync_allowed: boolean;
}

/** The `remove_cell` message. */
export interface IRemoveCellMessage {
  type: 'remove_cell';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
}

/** The `end_session` message. */
export interface IEndSessionMessage {
  type: 'end_session';
  req_id?: ReqId;
  session_code?: SessionCode;
}

/** The `join_session` message. */
export interface IJoinSessionMessage {
  type: 'join_session';
  req_id?: ReqId;
  session_code: SessionCode;
  /** Schema: maxLength 64. */
  name?: string;
  student_key?: Key;
}

/** The `request_sync` message. */
export interface IRequestSyncMessage {
  type: 'request_sync';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
  local_source?: string | string[] | null;
  strategy?: 'theirs' | 'mine';
  /**
   * Delta pulls: the seq of the text this client last pulled and still holds (null: none yet).
   * Its presence asks for the delta-pull reply.
   */
  base_seq?: number | null;
}

/** The `preview` message. */
export interface IPreviewMessage {
  type: 'preview';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
  local_source?: string | string[] | null;
}

/** The `leave_session` message. */
export interface ILeaveSessionMessage {
  type: 'leave_session';
  req_id?: ReqId;
}

/** The `ping` message. */
export interface IPingMessage {
  type: 'ping';
  req_id?: ReqId;
}

/** Every message a client may send. */
export type ClientMessage =
  | ICreateSessionMessage
  | IResumeSessionMessage
  | IPushCellMessage
  | IToggleSyncMessage
  | IRemoveCellMessage
  | IEndSessionMessage
  | IJoinSessionMessage
  | IRequestSyncMessage
  | IPreviewMessage
  | ILeaveSessionMessage
  | IPingMessage;

export type ClientMessageType = ClientMessage['type'];
