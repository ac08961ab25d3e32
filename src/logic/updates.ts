/**
 * The student's view of a session's cells: what the teacher has announced, what this student
 * pulled, what is locked. Pure, unit-tested in node.
 */
import type { ICellInfo, IUpdateAvailable } from '../api/messages';

export interface ICellState {
  cellId: string;
  /** Highest seq announced by `update_available` or listed at join. */
  availableSeq: number;
  /** Seq this student last pulled (0 = never). */
  pulledSeq: number;
  syncAllowed: boolean;
  /** The cell's position in the teacher's notebook, when known. */
  teacherIndex: number;
  cellType: string;
  removed: boolean;
}

export class UpdateTracker {
  private _cells = new Map<string, ICellState>();

  get size(): number {
    return this._cells.size;
  }

  clear(): void {
    this._cells.clear();
  }

  get(cellId: string): ICellState | undefined {
    return this._cells.get(cellId);
  }

  private _ensure(cellId: string): ICellState {
    let state = this._cells.get(cellId);
    if (!state) {
      state = {
        cellId,
        availableSeq: 0,
        pulledSeq: 0,
        syncAllowed: true,
        teacherIndex: Number.MAX_SAFE_INTEGER,
        cellType: 'code',
        removed: false
      };
      this._cells.set(cellId, state);
    }
    return state;
  }

  /** Load the cells listed by `session_joined` (replaces nothing already newer). */
  loadCells(cells: ICellInfo[]): void {
    const listed = new Set<string>();
    cells.forEach((info, position) => {
      listed.add(info.cell_id);
      const state = this._ensure(info.cell_id);
      state.removed = false;
      state.availableSeq = Math.max(state.availableSeq, info.seq || 0);
      state.pulledSeq = Math.max(state.pulledSeq, info.pulled_seq || 0);
      if (typeof info.sync_allowed === 'boolean') {
        state.syncAllowed = info.sync_allowed;
      }
      state.teacherIndex =
        typeof info.index === 'number' ? info.index : position;
      if (info.cell_type) {
        state.cellType = info.cell_type;
      }
    });
    // Cells the server no longer lists were removed while we were away.
    for (const state of this._cells.values()) {
      if (!listed.has(state.cellId)) {
        state.removed = true;
      }
    }
  }

  /**
   * Record an `update_available`. Returns false for a duplicate or stale announcement
   * (same or lower seq than already known or pulled): clients de-duplicate by (cell_id, seq).
   */
  offer(
    update: Pick<IUpdateAvailable, 'cell_id' | 'seq' | 'cell_type' | 'index'>
  ): boolean {
    const state = this._ensure(update.cell_id);
    if (typeof update.index === 'number') {
      state.teacherIndex = update.index;
    }
    if (update.cell_type) {
      state.cellType = update.cell_type;
    }
    if (update.seq <= state.availableSeq || update.seq <= state.pulledSeq) {
      return false;
    }
    state.availableSeq = update.seq;
    state.removed = false;
    // An announcement is only ever sent for an allowed cell.
    state.syncAllowed = true;
    return true;
  }

  markPulled(cellId: string, seq: number): void {
    const state = this._ensure(cellId);
    state.pulledSeq = Math.max(state.pulledSeq, seq);
    state.availableSeq = Math.max(state.availableSeq, seq);
  }

  setAllowed(cellId: string, allowed: boolean): void {
    this._ensure(cellId).syncAllowed = allowed;
  }

  /**
   * `cells_reordered`: the session's cells in the teacher's order. Cells not named keep their
   * relative order after those named.
   */
  reorder(order: readonly string[]): void {
    const rest = Array.from(this._cells.values())
      .filter(s => !order.includes(s.cellId))
      .sort((a, b) => a.teacherIndex - b.teacherIndex);
    order.forEach((cellId, position) => {
      const state = this._cells.get(cellId);
      if (state) {
        state.teacherIndex = position;
      }
    });
    rest.forEach((state, i) => {
      state.teacherIndex = order.length + i;
    });
  }

  /**
   * `cell_moved`: the teacher's cell got a new id (a cut and paste); its state (pulled and
   * announced seqs, lock) is now that of `toId`. False when `fromId` was not known.
   */
  rename(fromId: string, toId: string, index?: number): boolean {
    const state = this._cells.get(fromId);
    if (!state || fromId === toId) {
      return false;
    }
    this._cells.delete(fromId);
    const existing = this._cells.get(toId);
    const moved: ICellState = { ...state, cellId: toId };
    if (existing) {
      moved.availableSeq = Math.max(moved.availableSeq, existing.availableSeq);
      moved.pulledSeq = Math.max(moved.pulledSeq, existing.pulledSeq);
    }
    if (typeof index === 'number') {
      moved.teacherIndex = index;
    }
    this._cells.set(toId, moved);
    return true;
  }

  markRemoved(cellId: string): void {
    const state = this._cells.get(cellId);
    if (state) {
      state.removed = true;
    }
  }

  hasUpdate(cellId: string): boolean {
    const state = this._cells.get(cellId);
    return !!state && !state.removed && state.availableSeq > state.pulledSeq;
  }

  /** Cells with an update, in the teacher's order (locked ones included, flagged). */
  pending(): ICellState[] {
    return Array.from(this._cells.values())
      .filter(s => !s.removed && s.availableSeq > s.pulledSeq)
      .sort(
        (a, b) =>
          a.teacherIndex - b.teacherIndex || a.availableSeq - b.availableSeq
      );
  }

  /** Cells "Pull all" should pull: pending and allowed, in the teacher's order. */
  pullable(): ICellState[] {
    return this.pending().filter(s => s.syncAllowed);
  }

  /** Cells this student has pulled at least once and that were not removed, in teacher order. */
  pulledStates(): ICellState[] {
    return Array.from(this._cells.values())
      .filter(
        s => !s.removed && s.pulledSeq > 0 && s.availableSeq <= s.pulledSeq
      )
      .sort((a, b) => a.teacherIndex - b.teacherIndex);
  }

  /** Teacher index of every known, not removed cell. */
  teacherOrder(): Map<string, number> {
    const order = new Map<string, number>();
    for (const s of this._cells.values()) {
      if (!s.removed) {
        order.set(s.cellId, s.teacherIndex);
      }
    }
    return order;
  }
}

/**
 * Where to insert a teacher cell the student does not have yet, so teacher cells keep the
 * teacher's order: right after the nearest teacher cell (by teacher index) that comes before it
 * and is present in the student's notebook; else right before the nearest following one; else
 * at the end.
 */
export function insertionIndex(
  studentCellIds: readonly string[],
  teacherOrder: ReadonlyMap<string, number>,
  teacherIndex: number
): number {
  let bestBefore = -1;
  let bestBeforeIndex = -Infinity;
  let bestAfter = -1;
  let bestAfterIndex = Infinity;
  studentCellIds.forEach((id, position) => {
    const t = teacherOrder.get(id);
    if (t === undefined) {
      return;
    }
    if (t < teacherIndex && t >= bestBeforeIndex) {
      bestBeforeIndex = t;
      bestBefore = position;
    } else if (t > teacherIndex && t < bestAfterIndex) {
      bestAfterIndex = t;
      bestAfter = position;
    }
  });
  if (bestBefore >= 0) {
    return bestBefore + 1;
  }
  if (bestAfter >= 0) {
    return bestAfter;
  }
  return studentCellIds.length;
}

/** Exponential reconnect delay with optional jitter in [0, 1). */
export function reconnectDelay(
  attempt: number,
  jitter = 0,
  baseMs = 500,
  maxMs = 10_000
): number {
  const exp = Math.min(maxMs, baseMs * Math.pow(2, Math.max(0, attempt)));
  return Math.round(exp * (0.75 + 0.5 * jitter));
}
