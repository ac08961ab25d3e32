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
  ClientMessageType,
  Outputs
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
  /** The cell's shared outputs (a push that shares them; a pull `with_outputs`). */
  outputs?: Outputs;
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
  /** This student's own help requests that are not resolved (open, answered or not): shown
   * at once after a reload. Absent from servers before this field. */
  help?: IOwnHelpRequest[];
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
  /** A teacher's suggestion for this student alone (an answer to a help request): its `seq`
   * counts that request's suggestions, apart from the shared cell's seq. */
  private?: boolean;
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

/** The session's cells in the teacher's notebook order (the reply to `reorder_cells`, and
 * what students are told). */
export interface ICellsReordered {
  type: 'cells_reordered';
  order: string[];
}

/** A shared cell got a new id in the teacher's notebook (the reply to `move_cell`, and what
 * students are told): a student's pulled state of `from_id` is now that of `to_id`. */
export interface ICellMoved {
  type: 'cell_moved';
  from_id: string;
  to_id: string;
  seq: number;
  index: number;
}

/**
 * The teacher's roster: `full` (the first to a connection, the reply to `roster`, or to one
 * that did not hold `base`) lists every student; otherwise only what changed since version
 * `base`: the changed or new students' rows and the ids `removed`. Never sent when nothing
 * changed. Merged by `applyRosterUpdate` (logic/roster).
 */
export interface IRosterUpdate {
  type: 'roster_update';
  session_code?: string;
  /** The roster this makes: the next update's `base`. */
  version: number;
  full?: boolean;
  base?: number;
  students: IRosterStudent[];
  removed?: string[];
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
  /** The reply to a pull of a teacher's suggestion (`source: "suggestion"`). */
  private?: boolean;
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
  private?: boolean;
}

/** The teacher's answer to a help request, as its student is told. */
export interface IHelpAnswer {
  note: string | null;
  has_suggestion: boolean;
  /** Counts the answers to this request. */
  seq: number;
  answered: number | null;
}

/** A help request as the session's teacher sees it. */
export interface IHelpRequestInfo {
  student_id: string;
  /** What the student typed as their name (text, never markup). */
  name: string;
  /** Their Jupyter user (JupyterHub's), empty when unknown. */
  user?: string | null;
  cell_id: string;
  note: string;
  /** The student's text of the cell when asking. */
  source: string;
  /** When it was asked (seconds since the epoch). */
  opened: number;
  resolved: boolean;
  answer: IHelpAnswer | null;
}

/** A help request as the student who asked sees it. */
export interface IOwnRequest {
  note: string;
  opened: number;
  resolved: boolean;
  answer: IHelpAnswer | null;
}

/** One of `session_joined`'s help requests: the request of a cell. */
export interface IOwnHelpRequest extends IOwnRequest {
  cell_id: string;
}

/** To the student: their request as stored (withdrawn: none). */
export interface IHelpAck {
  type: 'help_ack';
  cell_id: string;
  withdrawn: boolean;
  request?: IOwnRequest;
}

/** To the teacher: a request opened, answered or resolved, or withdrawn (`request` null). */
export interface IHelpUpdate {
  type: 'help_update';
  student_id: string;
  cell_id: string;
  request: IHelpRequestInfo | null;
}

/** To the teacher: the open requests, oldest first. */
export interface IHelpQueue {
  type: 'help_queue';
  session_code?: string;
  requests: IHelpRequestInfo[];
}

/** To the student who asked: the teacher's answer. */
export interface IHelpAnswered {
  type: 'help_answered';
  cell_id: string;
  note: string | null;
  has_suggestion: boolean;
  resolved: boolean;
  seq: number;
  answered?: number | null;
}

export type ProgressStatus =
  'up_to_date' | 'behind' | 'conflict' | 'kept_mine' | 'never_pulled';

export interface IProgressCell {
  status: ProgressStatus;
  pulled_seq: number;
  help: boolean;
}

export interface IProgressStudent {
  student_id: string;
  name: string;
  user?: string | null;
  online: boolean;
  cells: { [cellId: string]: IProgressCell };
}

/**
 * The progress matrix: students × shared cells, as the teacher's page holds it (the last
 * `progress_snapshot` with every `progress_update` since merged in: `decodeProgress`,
 * `applyProgressUpdate` in logic/progress).
 */
export interface IProgressMatrix {
  type: 'progress_snapshot' | 'progress_update';
  session_code?: string;
  /** The server's version of the view this matrix is (the next update's `base`). */
  version?: number;
  cells: string[];
  students: IProgressStudent[];
}

/** A status on the wire: `u` up_to_date, `b` behind, `c` conflict, `k` kept_mine, `n`
 * never_pulled. */
export type ProgressCode = 'u' | 'b' | 'c' | 'k' | 'n';

/** One student's entry of one cell on the wire: `[status, pulled_seq, help (0 or 1)]`. */
export type ProgressEntry = [ProgressCode, number, 0 | 1];

/** The reply to `progress` (and what a watching connection gets when it cannot be sent a
 * delta): every student with one entry per cell of `cells`, in that order. */
export interface IProgressSnapshot {
  type: 'progress_snapshot';
  session_code?: string;
  /** Counts the server's versions of the view: the next update's `base`. */
  version: number;
  cells: string[];
  students: {
    student_id: string;
    name: string;
    user?: string | null;
    online: boolean;
    entries: ProgressEntry[];
  }[];
}

/** A student in a `progress_update`: the fields that changed and the changed entries by cell
 * id (a student new to the view: every field and every cell). */
export interface IProgressStudentChange {
  student_id: string;
  name?: string;
  user?: string | null;
  online?: boolean;
  cells?: { [cellId: string]: ProgressEntry };
}

/** What changed in the view since version `base` (coalesced; never sent when nothing did). */
export interface IProgressUpdate {
  type: 'progress_update';
  session_code?: string;
  base: number;
  version: number;
  /** The cells' new order, only when it changed (a cell not in it is gone). */
  cells?: string[];
  students: IProgressStudentChange[];
  removed: string[];
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
  | ICellsReordered
  | ICellMoved
  | ICellPushed
  | ICellPulled
  | IRosterUpdate
  | ISessionEnded
  | ISessionLeft
  | ICellContentReply
  | ICellPreview
  | IHelpAck
  | IHelpUpdate
  | IHelpQueue
  | IHelpAnswered
  | IProgressSnapshot
  | IProgressUpdate
  | IErrorMessage
  | IPong;

/** Fails to compile unless every client message type has a reply. */
type ReplyTable<T extends Record<ClientMessageType, ServerMessage>> = T;

/** The direct reply (echoing `req_id`) of each client message; errors are `IErrorMessage`. */
export type Replies = ReplyTable<{
  create_session: ISessionCreated;
  resume_session: ISessionResumed;
  push_cell: IPushAck;
  reorder_cells: ICellsReordered;
  move_cell: ICellMoved;
  toggle_sync: ISyncAllowedUpdate;
  remove_cell: ICellRemoved;
  end_session: ISessionEnded;
  join_session: ISessionJoined;
  request_sync: ICellContentReply;
  preview: ICellPreview;
  help_request: IHelpAck;
  help_withdraw: IHelpAck;
  help_answer: IHelpUpdate;
  help_list: IHelpQueue;
  progress: IProgressSnapshot;
  roster: IRosterUpdate;
  leave_session: ISessionLeft;
  ping: IPong;
}>;

export type ReplyTo<M extends ClientMessage> = Replies[M['type']];
