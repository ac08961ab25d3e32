/**
 * The "Follow teacher" view model: the follow room's Yjs document (jupyter-ydoc's YNotebook
 * schema) and the room's awareness state, set against what this student has pulled. Pure apart
 * from reading Yjs types; unit-tested in node.
 */
import * as Y from 'yjs';

import { ROOM_KEY } from '../api/codes';
import type { Outputs } from '../api/messages';
import { toOutputs } from './outputs';

/** One cell as the room shows it. */
export interface IRoomCell {
  id: string;
  cellType: string;
  /** Empty for a locked cell (the room never carries its content). */
  source: string;
  locked: boolean;
  /** The cell's seq in the room document (0 when unknown). */
  seq: number;
  /** The outputs the teacher shares (a code cell's; none for a locked one). */
  outputs: Outputs;
}

export interface IRoomStudent {
  student_id: string;
  name: string;
  online: boolean;
}

/** The room's own awareness state (`notebook_sync`): the teacher's side. */
export interface IRoomState {
  role: 'teacher';
  session_code: string;
  title: string;
  status: string;
  /** Pullable (shared, unlocked) cells: cell id -> seq. */
  cells: Record<string, number>;
  roster: IRoomStudent[];
}

/**
 * How this student's notebook stands against a room cell:
 * - `locked`: the teacher locked it; nothing to see or pull.
 * - `new`: never pulled and not in the notebook (pulling adds it).
 * - `behind`: the teacher has a newer version than the one pulled.
 * - `current`: the student has the teacher's latest version.
 * - `missing`: pulled before, up to date, but deleted from the notebook (can be added again).
 * - `shared`: the teacher's own view of their session (what students see): shared, pullable.
 */
export type FollowCellStatus =
  'locked' | 'new' | 'behind' | 'current' | 'missing' | 'shared';

export interface IFollowCell extends IRoomCell {
  /** Position among the room's cells (0-based). */
  index: number;
  /** The newest seq the teacher offers (awareness, else the document's). */
  availableSeq: number;
  /** The seq this student last pulled (0 = never). */
  pulledSeq: number;
  /** The student's notebook has a cell with this id. */
  present: boolean;
  status: FollowCellStatus;
}

export interface IFollowView {
  title: string;
  /** The room's session status ('active', 'ended'), or '' before its awareness arrives. */
  status: string;
  cells: IFollowCell[];
  /** Cells with something to pull or add (`new` or `behind`). */
  behind: number;
  online: number;
  students: number;
}

/** What the view needs to know about the student's own notebook and pulls. */
export interface IStudentSide {
  pulledSeq(cellId: string): number;
  hasCell(cellId: string): boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function num(value: unknown): number {
  return typeof value === 'number' && isFinite(value) ? value : 0;
}

function text(value: unknown): string {
  if (value instanceof Y.Text) {
    return value.toString();
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value)) {
    // nbformat's multi-line form
    return value.filter(v => typeof v === 'string').join('');
  }
  return '';
}

/** The cell's `metadata.notebook_sync`, whether metadata is a Y.Map or a plain object. */
function roomMeta(metadata: unknown): Record<string, unknown> {
  let value: unknown;
  if (metadata instanceof Y.Map) {
    value = metadata.get(ROOM_KEY);
  } else if (isRecord(metadata)) {
    value = metadata[ROOM_KEY];
  }
  if (value instanceof Y.Map) {
    return value.toJSON() as Record<string, unknown>;
  }
  return isRecord(value) ? value : {};
}

/** A cell's `outputs` in the room: a Y.Array (of Y.Maps or plain objects) or a plain array. */
export function readOutputs(value: unknown): Outputs {
  if (value instanceof Y.Array) {
    return toOutputs(value.toJSON() as unknown[]);
  }
  return Array.isArray(value) ? toOutputs(value) : [];
}

/** Read one cell of the room document (null for something that is not a cell). */
export function readRoomCell(cell: unknown): IRoomCell | null {
  if (!(cell instanceof Y.Map)) {
    return null;
  }
  const id = cell.get('id');
  if (typeof id !== 'string' || !id) {
    return null;
  }
  const type = cell.get('cell_type');
  const meta = roomMeta(cell.get('metadata'));
  const locked = meta.locked === true;
  return {
    id,
    cellType: typeof type === 'string' && type ? type : 'code',
    source: locked ? '' : text(cell.get('source')),
    locked,
    seq: num(meta.seq),
    outputs: locked ? [] : readOutputs(cell.get('outputs'))
  };
}

/** The room's cells in order (`ydoc.getArray('cells')`). */
export function readRoomCells(doc: Y.Doc): IRoomCell[] {
  const out: IRoomCell[] = [];
  for (const item of doc.getArray<unknown>('cells').toArray()) {
    const cell = readRoomCell(item);
    if (cell) {
      out.push(cell);
    }
  }
  return out;
}

/**
 * The room's own state among the awareness states: the only one carrying `notebook_sync` with
 * role "teacher" (followers cannot publish that key). With `code`, it must be that session's.
 */
export function findRoomState(
  states: ReadonlyMap<number, unknown>,
  code?: string
): IRoomState | null {
  for (const state of states.values()) {
    if (!isRecord(state)) {
      continue;
    }
    const room = state[ROOM_KEY];
    if (!isRecord(room) || room.role !== 'teacher') {
      continue;
    }
    if (
      code &&
      typeof room.session_code === 'string' &&
      room.session_code !== code
    ) {
      continue;
    }
    const cells: Record<string, number> = {};
    if (isRecord(room.cells)) {
      for (const [id, seq] of Object.entries(room.cells)) {
        cells[id] = num(seq);
      }
    }
    const roster: IRoomStudent[] = Array.isArray(room.roster)
      ? room.roster.filter(isRecord).map(s => ({
          student_id: String(s.student_id ?? ''),
          name: String(s.name ?? ''),
          online: s.online === true
        }))
      : [];
    return {
      role: 'teacher',
      session_code:
        typeof room.session_code === 'string' ? room.session_code : '',
      title: typeof room.title === 'string' ? room.title : '',
      status: typeof room.status === 'string' ? room.status : '',
      cells,
      roster
    };
  }
  return null;
}

/**
 * Set the room's cells against the student's notebook and pulls. With `student` null it is the
 * teacher's view of their own session: every cell `shared` or `locked`, nothing to pull.
 */
export function followView(
  cells: IRoomCell[],
  room: IRoomState | null,
  student: IStudentSide | null
): IFollowView {
  let behind = 0;
  const out = cells.map((cell, index): IFollowCell => {
    const offered = room ? room.cells[cell.id] : undefined;
    // The document and the awareness arrive separately: trust the newer of the two.
    const availableSeq = Math.max(cell.seq, offered ?? 0);
    const pulledSeq = student ? student.pulledSeq(cell.id) : 0;
    const present = student ? student.hasCell(cell.id) : true;
    let status: FollowCellStatus;
    if (cell.locked) {
      status = 'locked';
    } else if (!student) {
      status = 'shared';
    } else if (!present) {
      status = pulledSeq > 0 && pulledSeq >= availableSeq ? 'missing' : 'new';
    } else {
      status = availableSeq > pulledSeq ? 'behind' : 'current';
    }
    if (status === 'new' || status === 'behind') {
      behind++;
    }
    return { ...cell, index, availableSeq, pulledSeq, present, status };
  });
  return {
    title: room?.title ?? '',
    status: room?.status ?? '',
    cells: out,
    behind,
    online: room ? room.roster.filter(s => s.online).length : 0,
    students: room ? room.roster.length : 0
  };
}

/**
 * What a cell's button in the panel does, or null when there is nothing to do: `add` a new cell
 * and `pull` a newer version (both the normal pull), or `restore` a deleted copy.
 */
export type FollowAction = 'add' | 'pull' | 'restore';

export function followAction(status: FollowCellStatus): FollowAction | null {
  switch (status) {
    case 'new':
      return 'add';
    case 'behind':
      return 'pull';
    case 'missing':
      return 'restore';
    default:
      return null;
  }
}

/**
 * Lines a cell takes before it is rendered (a placeholder's height, so that only the cells in
 * view are rendered): its source's lines, at least one, at most `max` (a long cell scrolls).
 */
export function placeholderLines(cell: IRoomCell, max = 24): number {
  if (cell.locked) {
    return 1;
  }
  let lines = 1;
  for (let i = 0; i < cell.source.length; i++) {
    if (cell.source.charCodeAt(i) === 10) {
      lines++;
    }
  }
  return Math.min(lines, max);
}
