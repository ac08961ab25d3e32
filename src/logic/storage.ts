/**
 * What the browser remembers between reloads (localStorage): the teacher key per notebook
 * path and the student key per session. Pure apart from the Storage passed in.
 */

export interface IStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

import type { IHelpSnapshot } from './help';

const PREFIX = 'notebook-sync-ydoc:';

export interface ITeacherRecord {
  session_code: string;
  teacher_key: string;
  title: string;
  /** Per cell, the teacher's own "Share outputs" choice (absent: the default setting). */
  share_outputs?: Record<string, boolean>;
}

/** Delta pulls: the seq and text of what a student last pulled of a cell. */
export interface IPullBase {
  seq: number;
  text: string;
}

export interface IStudentRecord {
  session_code: string;
  student_key: string;
  name: string;
}

function read<T>(
  storage: IStorageLike,
  key: string,
  check: (v: Record<string, unknown>) => boolean
): T | null {
  const raw = storage.getItem(key);
  if (!raw) {
    return null;
  }
  try {
    const value: unknown = JSON.parse(raw);
    if (
      value &&
      typeof value === 'object' &&
      check(value as Record<string, unknown>)
    ) {
      return value as T;
    }
  } catch {
    // fall through: a corrupt entry is dropped
  }
  storage.removeItem(key);
  return null;
}

export class SyncMemory {
  constructor(private _storage: IStorageLike) {}

  static teacherKey(path: string): string {
    return `${PREFIX}teacher:${path}`;
  }

  static studentKey(code: string): string {
    return `${PREFIX}student:${code}`;
  }

  static studentNotebookKey(path: string): string {
    return `${PREFIX}student-notebook:${path}`;
  }

  getTeacher(path: string): ITeacherRecord | null {
    return read<ITeacherRecord>(
      this._storage,
      SyncMemory.teacherKey(path),
      v =>
        typeof v.session_code === 'string' && typeof v.teacher_key === 'string'
    );
  }

  setTeacher(path: string, record: ITeacherRecord): void {
    this._storage.setItem(SyncMemory.teacherKey(path), JSON.stringify(record));
  }

  /**
   * Remember a cell's "Share outputs" choice with the notebook's session, so a reload keeps it
   * (`null` forgets it: the cell follows the default again).
   */
  setShareOutputs(path: string, cellId: string, share: boolean | null): void {
    const record = this.getTeacher(path);
    if (!record) {
      return;
    }
    const choices = { ...(record.share_outputs ?? {}) };
    if (share === null) {
      delete choices[cellId];
    } else {
      choices[cellId] = share;
    }
    this.setTeacher(path, { ...record, share_outputs: choices });
  }

  /** The cell's remembered "Share outputs" choice, null when none. */
  shareOutputs(path: string, cellId: string): boolean | null {
    const choice = this.getTeacher(path)?.share_outputs?.[cellId];
    return typeof choice === 'boolean' ? choice : null;
  }

  clearTeacher(path: string): void {
    this._storage.removeItem(SyncMemory.teacherKey(path));
  }

  getStudent(code: string): IStudentRecord | null {
    return read<IStudentRecord>(
      this._storage,
      SyncMemory.studentKey(code),
      v =>
        typeof v.session_code === 'string' && typeof v.student_key === 'string'
    );
  }

  setStudent(record: IStudentRecord): void {
    this._storage.setItem(
      SyncMemory.studentKey(record.session_code),
      JSON.stringify(record)
    );
  }

  clearStudent(code: string): void {
    this._storage.removeItem(SyncMemory.studentKey(code));
  }

  /** The session a student notebook was joined to (so a reload re-joins it). */
  getStudentNotebook(path: string): string | null {
    return this._storage.getItem(SyncMemory.studentNotebookKey(path));
  }

  setStudentNotebook(path: string, code: string): void {
    this._storage.setItem(SyncMemory.studentNotebookKey(path), code);
  }

  clearStudentNotebook(path: string): void {
    this._storage.removeItem(SyncMemory.studentNotebookKey(path));
  }

  static basesKey(code: string): string {
    return `${PREFIX}bases:${code}`;
  }

  /** What was last pulled of a cell in a session (the base of the next delta pull). */
  getBase(code: string, cellId: string): IPullBase | null {
    const base = this._bases(code)[cellId];
    return base && typeof base.seq === 'number' && typeof base.text === 'string'
      ? base
      : null;
  }

  /** Keep (or, with null, forget) a cell's base. A full storage drops the bases: the next
   * pulls are full ones, which is slower, never wrong. */
  setBase(code: string, cellId: string, base: IPullBase | null): void {
    const bases = this._bases(code);
    if (base) {
      bases[cellId] = base;
    } else {
      delete bases[cellId];
    }
    try {
      this._storage.setItem(SyncMemory.basesKey(code), JSON.stringify(bases));
    } catch (reason) {
      console.warn('notebook-sync: no room to keep pull bases', reason);
      this._storage.removeItem(SyncMemory.basesKey(code));
    }
  }

  /** A cell's base under its new id (the teacher's cut and paste gave it one). */
  renameBase(code: string, fromId: string, toId: string): void {
    const base = this.getBase(code, fromId);
    if (base) {
      this.setBase(code, fromId, null);
      this.setBase(code, toId, base);
    }
  }

  clearBases(code: string): void {
    this._storage.removeItem(SyncMemory.basesKey(code));
  }

  private _bases(code: string): Record<string, IPullBase> {
    return (
      read<Record<string, IPullBase>>(
        this._storage,
        SyncMemory.basesKey(code),
        () => true
      ) ?? {}
    );
  }

  static helpKey(code: string): string {
    return `${PREFIX}help:${code}`;
  }

  /** A student's help requests, answers and pending suggestions in a session (the server
   * tells an answer or a suggestion once: after a reload only this page knows of it). */
  getHelp(code: string): IHelpSnapshot | null {
    return read<IHelpSnapshot>(
      this._storage,
      SyncMemory.helpKey(code),
      v => Array.isArray(v.requests) && !!v.suggestions
    );
  }

  setHelp(code: string, help: IHelpSnapshot): void {
    try {
      this._storage.setItem(SyncMemory.helpKey(code), JSON.stringify(help));
    } catch (reason) {
      console.warn('notebook-sync: no room to keep help requests', reason);
    }
  }

  clearHelp(code: string): void {
    this._storage.removeItem(SyncMemory.helpKey(code));
  }

  /** Last display name typed, to prefill the join dialog. */
  getLastName(): string {
    return this._storage.getItem(`${PREFIX}last-name`) || '';
  }

  setLastName(name: string): void {
    this._storage.setItem(`${PREFIX}last-name`, name);
  }
}

/** Normalise a typed session code: upper case, no spaces or dashes. */
export function normaliseCode(raw: string): string {
  return raw.toUpperCase().replace(/[\s-]+/g, '');
}
