/**
 * The teacher's roster from the server's `roster_update`s: a full one replaces it, a delta is
 * merged into the roster it follows. Pure, unit-tested in node.
 */
import type { IRosterStudent, IRosterUpdate } from '../api/messages';

/** The roster a page holds, and the server's version of it (null: none yet). */
export interface IHeldRoster {
  version: number | null;
  students: IRosterStudent[];
}

/**
 * `held` with `update` merged in (not changed: a new array; students the update does not
 * touch keep their objects; new students come last). Null when the update is a delta from
 * another version than the one held: the page must ask for the whole roster again.
 */
export function applyRosterUpdate(
  held: IHeldRoster,
  update: IRosterUpdate
): IHeldRoster | null {
  if (update.full) {
    return { version: update.version, students: update.students.slice() };
  }
  if (held.version === null || update.base !== held.version) {
    return null;
  }
  const changed = new Map(update.students.map(s => [s.student_id, s]));
  const removed = new Set(update.removed ?? []);
  const students: IRosterStudent[] = [];
  for (const student of held.students) {
    if (removed.has(student.student_id)) {
      continue;
    }
    const row = changed.get(student.student_id);
    changed.delete(student.student_id);
    students.push(row ?? student);
  }
  changed.forEach(row => students.push(row));
  return { version: update.version, students };
}
