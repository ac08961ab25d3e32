/**
 * The teacher's progress view: per shared cell, how many students are up to date, behind, in
 * conflict, kept their own text, never pulled, asking for help; and the CSV download. Pure,
 * unit-tested in node.
 */
import type {
  IProgressMatrix,
  IProgressStudent,
  ProgressStatus
} from '../api/messages';

export const PROGRESS_STATUSES: readonly ProgressStatus[] = [
  'up_to_date',
  'behind',
  'conflict',
  'kept_mine',
  'never_pulled'
];

export interface ICellTotals {
  /** Students in the session. */
  students: number;
  counts: Record<ProgressStatus, number>;
  /** Students with an open help request on the cell. */
  help: number;
}

/** The totals of one cell (null when the matrix does not list it: not shared). */
export function cellTotals(
  matrix: IProgressMatrix | null,
  cellId: string
): ICellTotals | null {
  if (!matrix || !matrix.cells.includes(cellId)) {
    return null;
  }
  const counts = Object.fromEntries(
    PROGRESS_STATUSES.map(s => [s, 0])
  ) as Record<ProgressStatus, number>;
  let help = 0;
  for (const student of matrix.students) {
    const cell = student.cells[cellId];
    const status = cell?.status ?? 'never_pulled';
    counts[status] = (counts[status] ?? 0) + 1;
    if (cell?.help) {
      help++;
    }
  }
  return { students: matrix.students.length, counts, help };
}

/** Students in the order shown: by name, then id (stable between updates). */
export function orderedStudents(matrix: IProgressMatrix): IProgressStudent[] {
  return matrix.students
    .slice()
    .sort(
      (a, b) =>
        a.name.localeCompare(b.name) || a.student_id.localeCompare(b.student_id)
    );
}

/**
 * One CSV field: quoted when needed; a text a spreadsheet would run as a formula (starting
 * with =, +, -, @, tab or carriage return) is prefixed with an apostrophe.
 */
export function csvField(value: string): string {
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) {
    text = `'${text}`;
  }
  if (/[",\r\n]/.test(text) || text !== text.trim()) {
    text = `"${text.replace(/"/g, '""')}"`;
  }
  return text;
}

/**
 * The matrix as CSV (RFC 4180, CRLF): a row per student (name, user, online), a column per
 * shared cell with its status (and " +help" when a request is open). `cellNames` labels the
 * columns (the cell id when missing).
 */
export function progressCsv(
  matrix: IProgressMatrix,
  cellNames: ReadonlyMap<string, string> = new Map()
): string {
  const header = ['student', 'user', 'online'].concat(
    matrix.cells.map(id => cellNames.get(id) ?? id)
  );
  const rows = [header];
  for (const s of orderedStudents(matrix)) {
    rows.push(
      [s.name, s.user ?? '', s.online ? 'yes' : 'no'].concat(
        matrix.cells.map(id => {
          const cell = s.cells[id];
          const status = cell?.status ?? 'never_pulled';
          return cell?.help ? `${status} +help` : status;
        })
      )
    );
  }
  return rows.map(row => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
