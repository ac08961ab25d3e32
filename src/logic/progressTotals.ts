/**
 * What the teacher's progress view computes from the matrix at class scale (500 students × 50
 * cells), each piece once per matrix object rather than once per render: per-cell totals (for
 * the cell bars), the students' display order, a row's signature (to patch only rows that
 * changed), and which rows of a scrolled table are in view. Pure, unit-tested in node.
 */
import type {
  IProgressMatrix,
  IProgressStudent,
  ProgressStatus
} from '../api/messages';
import { ICellTotals, PROGRESS_STATUSES } from './progress';

function emptyCounts(): Record<ProgressStatus, number> {
  return Object.fromEntries(PROGRESS_STATUSES.map(s => [s, 0])) as Record<
    ProgressStatus,
    number
  >;
}

/** The totals of every cell of the matrix in one pass over the students (same figures as
 * `cellTotals` for each cell). */
export function allCellTotals(
  matrix: IProgressMatrix
): Map<string, ICellTotals> {
  const out = new Map<string, ICellTotals>();
  const students = matrix.students.length;
  for (const cellId of matrix.cells) {
    out.set(cellId, { students, counts: emptyCounts(), help: 0 });
  }
  for (const student of matrix.students) {
    for (const [cellId, totals] of out) {
      const cell = student.cells[cellId];
      const status = cell?.status ?? 'never_pulled';
      totals.counts[status] = (totals.counts[status] ?? 0) + 1;
      if (cell?.help) {
        totals.help++;
      }
    }
  }
  return out;
}

/**
 * Per-cell totals cached on the matrix object: a cell's totals are computed at most once per
 * matrix (the session replaces the matrix object on every progress change), and only for the
 * cells asked for (the cell bars that render, i.e. the changed cells).
 */
export class ProgressTotals {
  /** The totals of one cell (null without a matrix, or when it does not list the cell). */
  get(matrix: IProgressMatrix | null, cellId: string): ICellTotals | null {
    if (matrix !== this._matrix) {
      this._matrix = matrix;
      this._cells = matrix ? new Set(matrix.cells) : new Set();
      this._totals.clear();
    }
    if (!matrix || !this._cells.has(cellId)) {
      return null;
    }
    let totals = this._totals.get(cellId);
    if (!totals) {
      totals = {
        students: matrix.students.length,
        counts: emptyCounts(),
        help: 0
      };
      for (const student of matrix.students) {
        const cell = student.cells[cellId];
        const status = cell?.status ?? 'never_pulled';
        totals.counts[status] = (totals.counts[status] ?? 0) + 1;
        if (cell?.help) {
          totals.help++;
        }
      }
      this._totals.set(cellId, totals);
    }
    return totals;
  }

  /** How many cells were computed for the current matrix (for tests). */
  get computed(): number {
    return this._totals.size;
  }

  private _matrix: IProgressMatrix | null = null;
  private _cells = new Set<string>();
  private _totals = new Map<string, ICellTotals>();
}

/**
 * Students in the order shown: by name, then id: the order of `orderedStudents`
 * (`localeCompare`), with one collator instead of a locale look-up per comparison.
 */
export class StudentOrder {
  ordered(matrix: IProgressMatrix): IProgressStudent[] {
    if (matrix.students !== this._source) {
      const compare = this._collator.compare;
      this._source = matrix.students;
      this._ordered = matrix.students
        .slice()
        .sort(
          (a, b) =>
            compare(a.name, b.name) || compare(a.student_id, b.student_id)
        );
    }
    return this._ordered;
  }

  private _collator = new Intl.Collator();
  private _source: IProgressStudent[] | null = null;
  private _ordered: IProgressStudent[] = [];
}

/** One table cell's state: its status and whether the student asks for help there. */
export function cellKey(student: IProgressStudent, cellId: string): string {
  const cell = student.cells[cellId];
  return `${cell?.status ?? 'never_pulled'}${cell?.help ? '+' : ''}`;
}

/** Everything a student's row shows: equal signatures, equal rows. */
export function rowSignature(
  student: IProgressStudent,
  cells: readonly string[]
): string {
  const parts = [student.name, student.user ?? '', student.online ? '1' : '0'];
  for (const cellId of cells) {
    parts.push(cellKey(student, cellId));
  }
  return parts.join('\u0000');
}

export interface IRowRange {
  /** The first row rendered. */
  start: number;
  /** One past the last row rendered. */
  end: number;
}

/**
 * The rows of a scrolled list to render: those in view plus `overscan` on each side. Before
 * the list is laid out (no height or row height known), the first `fallback` rows.
 */
export function visibleRows(
  total: number,
  scrollTop: number,
  viewHeight: number,
  rowHeight: number,
  overscan: number,
  fallback: number
): IRowRange {
  if (total <= 0) {
    return { start: 0, end: 0 };
  }
  if (!(viewHeight > 0) || !(rowHeight > 0)) {
    return { start: 0, end: Math.min(total, fallback) };
  }
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const last = Math.ceil((Math.max(0, scrollTop) + viewHeight) / rowHeight);
  const start = Math.max(0, Math.min(first, total - 1) - overscan);
  const end = Math.min(total, Math.max(last, start + 1) + overscan);
  return { start, end };
}
