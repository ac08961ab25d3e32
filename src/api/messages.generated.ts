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

/** Schema: pattern `^[0-9a-f]{24}$`. */
export type StudentId = string;

/** Schema: maxLength 500. */
export type HelpNote = string;

/**
 * nbformat outputs of a cell (checked loosely: objects with an output_type; at most 1000); the
 * server bounds their size (max_output_bytes) and replaces what is over it by a placeholder.
 */
export type Outputs = Array<{
  output_type:
    | 'stream'
    | 'display_data'
    | 'execute_result'
    | 'error'
    | 'update_display_data';
  [key: string]: unknown;
}>;

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
    outputs?: Outputs;
  };
  metadata?: {
    sync_allowed?: boolean;
  };
  /**
   * Share this cell's outputs with students and followers: true (or content.outputs present)
   * stores content.outputs, false stops sharing (clears them); absent with no content.outputs
   * keeps what is shared.
   */
  share_outputs?: boolean;
}

/**
 * The `reorder_cells` message.
 *
 * Teacher: the session's cells in the teacher's notebook order (no push, no seq change). Cells
 * not named go after the named ones in their present order. Reply cells_reordered; students
 * get cells_reordered, followers see the cells move.
 */
export interface IReorderCellsMessage {
  type: 'reorder_cells';
  req_id?: ReqId;
  session_code?: SessionCode;
  /** Every cell id at most once; at most max_cells_per_session ids. */
  order: CellId[];
}

/**
 * The `move_cell` message.
 *
 * Teacher: a shared cell got a new id in the teacher's notebook (cut and paste): the cell, and
 * every student's pulled state of it, move to to_id (no seq change). Reply cell_moved;
 * students get cell_moved; use reorder_cells for its new place.
 */
export interface IMoveCellMessage {
  type: 'move_cell';
  req_id?: ReqId;
  session_code?: SessionCode;
  from_id: CellId;
  to_id: CellId;
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

/**
 * The `join_session` message.
 *
 * Student: join a session (student_key: rejoin as that student). Reply session_joined, with
 * the cells and help: the student's own help requests that are not resolved.
 */
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
   * Pull (or preview) the teacher's private suggestion for this student (an answer to a help
   * request) instead of the shared cell.
   */
  source?: 'teacher' | 'suggestion';
  /** Also send the teacher's shared outputs of the cell (content.outputs) in the reply. */
  with_outputs?: boolean;
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
  /**
   * Pull (or preview) the teacher's private suggestion for this student (an answer to a help
   * request) instead of the shared cell.
   */
  source?: 'teacher' | 'suggestion';
  local_source?: string | string[] | null;
}

/**
 * The `help_request` message.
 *
 * Student: ask the teacher for help on a teacher cell, sending the current source (one open
 * request per student and cell; a new one replaces it). Reply help_ack.
 */
export interface IHelpRequestMessage {
  type: 'help_request';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
  note?: HelpNote;
  local_source: string | string[];
}

/**
 * The `help_withdraw` message.
 *
 * Student: withdraw the help request of a cell. Reply help_ack with withdrawn true.
 */
export interface IHelpWithdrawMessage {
  type: 'help_withdraw';
  req_id?: ReqId;
  session_code?: SessionCode;
  cell_id: CellId;
}

/**
 * The `help_answer` message.
 *
 * Teacher: answer a student's help request with a note and/or a suggested source (a private
 * update of that cell for that student alone), and/or mark it resolved. Reply help_update.
 */
export interface IHelpAnswerMessage {
  type: 'help_answer';
  req_id?: ReqId;
  session_code?: SessionCode;
  student_id: StudentId;
  cell_id: CellId;
  note?: HelpNote;
  source?: string | string[];
  resolve?: boolean;
}

/**
 * The `help_list` message.
 *
 * Teacher: the open help requests, oldest first. Reply help_queue (also sent after
 * resume_session).
 */
export interface IHelpListMessage {
  type: 'help_list';
  req_id?: ReqId;
  session_code?: SessionCode;
}

/**
 * The `progress` message.
 *
 * Teacher: the progress matrix (students x shared cells). Reply progress_snapshot {version,
 * cells, students: [{student_id, name, user, online, entries}]}, an entry [status, pulled_seq,
 * help] per cell in the order of cells (status u up_to_date, b behind, c conflict, k
 * kept_mine, n never_pulled; help 0 or 1). The connection then receives progress_update {base,
 * version, students, removed, cells?} (coalesced; only what changed since version base: per
 * changed student the changed fields and entries by cell id; cells when the order changed), or
 * a progress_snapshot when it could not apply one; nothing when nothing changed.
 */
export interface IProgressMessage {
  type: 'progress';
  req_id?: ReqId;
  session_code?: SessionCode;
}

/**
 * The `roster` message.
 *
 * Teacher: the whole roster. Reply roster_update {version, full: true, students: [{student_id,
 * name, user, online, pulled: {cell_id: seq}}]} (also sent after resume_session, and coalesced
 * when the roster changes). A roster_update without full carries what changed since version
 * base: the changed or new students' rows and the ids removed; one whose base is not the
 * version held asks for the whole roster again with this message; nothing is sent when nothing
 * changed.
 */
export interface IRosterMessage {
  type: 'roster';
  req_id?: ReqId;
  session_code?: SessionCode;
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
  | IReorderCellsMessage
  | IMoveCellMessage
  | IToggleSyncMessage
  | IRemoveCellMessage
  | IEndSessionMessage
  | IJoinSessionMessage
  | IRequestSyncMessage
  | IPreviewMessage
  | IHelpRequestMessage
  | IHelpWithdrawMessage
  | IHelpAnswerMessage
  | IHelpListMessage
  | IProgressMessage
  | IRosterMessage
  | ILeaveSessionMessage
  | IPingMessage;

export type ClientMessageType = ClientMessage['type'];
