/**
 * Help requests: the teacher's queue (oldest first), the student's own requests and answers,
 * and the teacher's private suggestions, de-duplicated by (cell_id, seq) apart from the shared
 * updates. Pure, unit-tested in node.
 */
import type {
  IHelpAnswered,
  IHelpRequestInfo,
  IUpdateAvailable
} from '../api/messages';
import type { UpdateTracker } from './updates';

/** The longest note the protocol accepts (schema: `HelpNote`). */
export const MAX_HELP_NOTE = 500;

/** A note cut to what the server accepts. */
export function clampNote(note: string): string {
  return Array.from(note.trim()).slice(0, MAX_HELP_NOTE).join('');
}

function key(studentId: string, cellId: string): string {
  return `${studentId}\u0000${cellId}`;
}

/** The teacher's open help requests, one per (student, cell). */
export class HelpQueue {
  get size(): number {
    return this._requests.size;
  }

  clear(): void {
    this._requests.clear();
  }

  /** `help_queue`: the open requests, replacing what was known. */
  load(requests: readonly IHelpRequestInfo[]): void {
    this._requests.clear();
    for (const r of requests) {
      this.update(r.student_id, r.cell_id, r);
    }
  }

  /** `help_update`: a request opened or answered; withdrawn (null) or resolved leave. */
  update(
    studentId: string,
    cellId: string,
    request: IHelpRequestInfo | null
  ): void {
    const k = key(studentId, cellId);
    if (!request || request.resolved) {
      this._requests.delete(k);
    } else {
      this._requests.set(k, request);
    }
  }

  get(studentId: string, cellId: string): IHelpRequestInfo | undefined {
    return this._requests.get(key(studentId, cellId));
  }

  /** Oldest first; ties by name, then cell. */
  ordered(): IHelpRequestInfo[] {
    return Array.from(this._requests.values()).sort(
      (a, b) =>
        a.opened - b.opened ||
        a.name.localeCompare(b.name) ||
        a.student_id.localeCompare(b.student_id) ||
        a.cell_id.localeCompare(b.cell_id)
    );
  }

  /** How many open requests a cell has. */
  countForCell(cellId: string): number {
    let n = 0;
    for (const r of this._requests.values()) {
      if (r.cell_id === cellId) {
        n++;
      }
    }
    return n;
  }

  private _requests = new Map<string, IHelpRequestInfo>();
}

/** Seconds since the epoch, from the server's clock value (seconds, or milliseconds). */
export function epochSeconds(value: number): number {
  return value > 1e11 ? value / 1000 : value;
}

/** How long a request has waited, in whole minutes (never negative). */
export function waitingMinutes(opened: number, nowMs: number): number {
  const seconds = nowMs / 1000 - epochSeconds(opened);
  return Math.max(0, Math.floor(seconds / 60));
}

/** The student's side of one help request. */
export interface IStudentHelp {
  cellId: string;
  /** A request is open (asked and neither withdrawn nor resolved). */
  open: boolean;
  note: string;
  /** The teacher's latest answer note (null: none yet). */
  answerNote: string | null;
  answers: number;
  resolved: boolean;
}

/** The student's help requests and the teacher's answers, per cell. */
export class StudentHelp {
  get(cellId: string): IStudentHelp | undefined {
    return this._cells.get(cellId);
  }

  all(): IStudentHelp[] {
    return Array.from(this._cells.values());
  }

  clear(): void {
    this._cells.clear();
  }

  /** The student asked (a new request replaces the previous one and its answer). */
  asked(cellId: string, note: string): void {
    this._cells.set(cellId, {
      cellId,
      open: true,
      note,
      answerNote: null,
      answers: 0,
      resolved: false
    });
  }

  withdrawn(cellId: string): void {
    this._cells.delete(cellId);
  }

  /** The teacher's cell got a new id (`cell_moved`): its request follows it. */
  rename(fromId: string, toId: string): void {
    const entry = this._cells.get(fromId);
    if (entry) {
      this._cells.delete(fromId);
      this._cells.set(toId, { ...entry, cellId: toId });
    }
  }

  /** Restore what a previous page of this student knew (kept in the browser). */
  restore(entries: readonly IStudentHelp[]): void {
    for (const e of entries) {
      if (
        e &&
        typeof e.cellId === 'string' &&
        typeof e.answers === 'number' &&
        !this._cells.has(e.cellId)
      ) {
        this._cells.set(e.cellId, {
          cellId: e.cellId,
          open: !!e.open,
          note: String(e.note ?? ''),
          answerNote: typeof e.answerNote === 'string' ? e.answerNote : null,
          answers: e.answers,
          resolved: !!e.resolved
        });
      }
    }
  }

  /** `help_answered`; false for an answer already known (same or lower seq). */
  answered(msg: Omit<IHelpAnswered, 'type'>): boolean {
    const known = this._cells.get(msg.cell_id);
    if (known && msg.seq <= known.answers) {
      return false;
    }
    this._cells.set(msg.cell_id, {
      cellId: msg.cell_id,
      open: !msg.resolved,
      note: known?.note ?? '',
      answerNote: msg.note ?? known?.answerNote ?? null,
      answers: msg.seq,
      resolved: msg.resolved
    });
    return true;
  }

  private _cells = new Map<string, IStudentHelp>();
}

/** A teacher's suggestion for this student: (cell_id, seq), apart from the shared updates. */
export interface ISuggestion {
  cellId: string;
  seq: number;
}

export interface ISuggestionSnapshot {
  seen: Record<string, number>;
  pending: string[];
}

/** A student's help state as kept in the browser between reloads. */
export interface IHelpSnapshot {
  requests: IStudentHelp[];
  suggestions: ISuggestionSnapshot;
}

/**
 * The private updates (`update_available {private: true}`), de-duplicated by (cell_id, seq)
 * on their own: a suggestion's seq counts that request's suggestions and may equal a shared seq.
 */
export class SuggestionTracker {
  /** Record a private announcement; false for a duplicate or one already pulled. */
  offer(update: Pick<IUpdateAvailable, 'cell_id' | 'seq'>): boolean {
    const known = this._seen.get(update.cell_id) ?? 0;
    if (update.seq <= known) {
      return false;
    }
    this._seen.set(update.cell_id, update.seq);
    this._pending.set(update.cell_id, update.seq);
    return true;
  }

  /** A new help request on the cell: its suggestions count from 1 again. */
  reset(cellId: string): void {
    this._seen.delete(cellId);
    this._pending.delete(cellId);
  }

  /** The suggestion was pulled (or the server has none): no longer pending. */
  used(cellId: string): void {
    this._pending.delete(cellId);
  }

  has(cellId: string): boolean {
    return this._pending.has(cellId);
  }

  /** The teacher's cell got a new id (`cell_moved`): its suggestions follow it. */
  rename(fromId: string, toId: string): void {
    for (const map of [this._seen, this._pending]) {
      const seq = map.get(fromId);
      if (seq !== undefined) {
        map.delete(fromId);
        map.set(toId, seq);
      }
    }
  }

  /** What to keep in the browser: the highest seq seen per cell, and which are pending. */
  snapshot(): ISuggestionSnapshot {
    return {
      seen: Object.fromEntries(this._seen),
      pending: Array.from(this._pending.keys())
    };
  }

  /** Restore a snapshot (a reload: the server does not announce a suggestion twice). */
  restore(snapshot: ISuggestionSnapshot): void {
    for (const [cellId, seq] of Object.entries(snapshot.seen ?? {})) {
      if (typeof seq === 'number' && seq > (this._seen.get(cellId) ?? 0)) {
        this._seen.set(cellId, seq);
        if ((snapshot.pending ?? []).includes(cellId)) {
          this._pending.set(cellId, seq);
        }
      }
    }
  }

  /** Pending suggestions, by cell id. */
  pending(): ISuggestion[] {
    return Array.from(this._pending, ([cellId, seq]) => ({ cellId, seq })).sort(
      (a, b) => a.cellId.localeCompare(b.cellId)
    );
  }

  clear(): void {
    this._seen.clear();
    this._pending.clear();
  }

  private _seen = new Map<string, number>();
  private _pending = new Map<string, number>();
}

/**
 * Route an `update_available`: a private one is the teacher's suggestion for this student and
 * goes to `suggestions` only (never shown or pulled as the shared cell's update); the others
 * to `shared`. False for a duplicate or stale announcement.
 */
export function offerUpdate(
  update: Pick<
    IUpdateAvailable,
    'cell_id' | 'seq' | 'cell_type' | 'index' | 'private'
  >,
  shared: UpdateTracker,
  suggestions: SuggestionTracker
): boolean {
  return update.private === true
    ? suggestions.offer(update)
    : shared.offer(update);
}
