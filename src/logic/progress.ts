/**
 * The teacher's progress view: the matrix from the server's snapshot and deltas; per shared
 * cell, how many students are up to date, behind, in conflict, kept their own text, never
 * pulled, asking for help; and the CSV download. Pure, unit-tested in node.
 */
import type {
  IProgressCell,
  IProgressMatrix,
  IProgressSnapshot,
  IProgressStudent,
  IProgressUpdate,
  ProgressCode,
  ProgressEntry,
  ProgressStatus
} from '../api/messages';

export const PROGRESS_STATUSES: readonly ProgressStatus[] = [
  'up_to_date',
  'behind',
  'conflict',
  'kept_mine',
  'never_pulled'
];

/** The statuses of the wire's one-letter codes. */
export const PROGRESS_CODES: Readonly<Record<ProgressCode, ProgressStatus>> = {
  u: 'up_to_date',
  b: 'behind',
  c: 'conflict',
  k: 'kept_mine',
  n: 'never_pulled'
};

/** One wire entry `[status, pulled_seq, help]` as a cell of the matrix. */
export function progressCell(entry: ProgressEntry): IProgressCell {
  return {
    status: PROGRESS_CODES[entry[0]] ?? 'never_pulled',
    pulled_seq: entry[1],
    help: entry[2] === 1
  };
}

/** A `progress_snapshot` as the matrix the page holds. */
export function decodeProgress(snapshot: IProgressSnapshot): IProgressMatrix {
  const order = snapshot.cells;
  return {
    type: 'progress_snapshot',
    session_code: snapshot.session_code,
    version: snapshot.version,
    cells: order.slice(),
    students: snapshot.students.map(s => {
      const cells: IProgressStudent['cells'] = {};
      order.forEach((cellId, i) => {
        const entry = s.entries[i];
        if (entry) {
          cells[cellId] = progressCell(entry);
        }
      });
      return {
        student_id: s.student_id,
        name: s.name,
        user: s.user,
        online: s.online,
        cells
      };
    })
  };
}

/** A matrix with an update merged in, and the cells whose column changed. */
export interface IProgressApplied {
  matrix: IProgressMatrix;
  /** Cells whose entries (or totals) changed: a new order, or a student added or removed,
   * names every cell of the old and the new order. */
  cells: string[];
}

/**
 * Merge a `progress_update` into `matrix` (not changed: a new matrix; students the update
 * does not touch keep their objects). Null when the update is not from the matrix's version
 * (the connection must ask for a snapshot again).
 */
export function applyProgressUpdate(
  matrix: IProgressMatrix,
  update: IProgressUpdate
): IProgressApplied | null {
  if (matrix.version === undefined || update.base !== matrix.version) {
    return null;
  }
  const order = update.cells ? update.cells.slice() : matrix.cells;
  const changed = new Set<string>();
  const everyCell = (): void => {
    matrix.cells.forEach(c => changed.add(c));
    order.forEach(c => changed.add(c));
  };
  const removed = new Set(update.removed ?? []);
  const byId = new Map<string, IProgressStudent>();
  if (update.cells) {
    everyCell();
  }
  const gone = update.cells ? matrix.cells.filter(c => !order.includes(c)) : [];
  for (const student of matrix.students) {
    if (removed.has(student.student_id)) {
      everyCell();
      continue;
    }
    let kept = student;
    if (gone.some(c => c in student.cells)) {
      const cells = { ...student.cells };
      gone.forEach(c => delete cells[c]);
      kept = { ...student, cells };
    }
    byId.set(student.student_id, kept);
  }
  for (const change of update.students ?? []) {
    const known = byId.get(change.student_id);
    if (!known) {
      everyCell();
    }
    const next: IProgressStudent = known
      ? { ...known, cells: { ...known.cells } }
      : {
          student_id: change.student_id,
          name: '',
          user: '',
          online: false,
          cells: {}
        };
    if (change.name !== undefined) {
      next.name = change.name;
    }
    if (change.user !== undefined) {
      next.user = change.user;
    }
    if (change.online !== undefined) {
      next.online = change.online;
    }
    for (const [cellId, entry] of Object.entries(change.cells ?? {})) {
      next.cells[cellId] = progressCell(entry);
      changed.add(cellId);
    }
    byId.set(change.student_id, next);
  }
  return {
    matrix: {
      type: 'progress_snapshot',
      session_code: matrix.session_code ?? update.session_code,
      version: update.version,
      cells: order,
      students: Array.from(byId.values())
    },
    cells: Array.from(changed)
  };
}

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
