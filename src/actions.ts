/**
 * The user-facing flows (dialogs, notifications) on top of the sessions.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';

import { normaliseCode } from './logic/storage';
import { SessionManager } from './manager';
import { describeError, SyncError } from './protocol';
import { StudentSession, TeacherSession } from './session';
import { askJoin, askSessionTitle, showCodeDialog, showConflict, showPreview } from './widgets/dialogs';

export function errorText(err: unknown): string {
  if (err instanceof SyncError) {
    return describeError(err.code, err.message);
  }
  return err instanceof Error ? err.message : String(err);
}

function fail(what: string, err: unknown): void {
  Notification.error(`${what}: ${errorText(err)}`, { autoClose: 6000 });
}

export async function startSession(manager: SessionManager, panel: NotebookPanel): Promise<void> {
  const existing = manager.get(panel);
  if (existing && existing.status === 'active') {
    if (existing instanceof TeacherSession) {
      await showCodeDialog(existing.code, existing.title);
    }
    return;
  }
  const defaultTitle = panel.context.path.split('/').pop()?.replace(/\.ipynb$/, '') || 'Class';
  const title = await askSessionTitle(defaultTitle);
  if (title === null) {
    return;
  }
  const session = manager.createTeacher(panel);
  try {
    await session.start(title || defaultTitle);
  } catch (err) {
    manager.drop(panel);
    fail('Could not start the session', err);
    return;
  }
  await showCodeDialog(session.code, session.title);
}

/** Re-open the session remembered for this notebook after a reload (teacher or student). */
export async function restoreSession(manager: SessionManager, panel: NotebookPanel): Promise<void> {
  if (manager.get(panel)) {
    return;
  }
  const path = panel.context.path;
  const teacher = manager.memory.getTeacher(path);
  if (teacher) {
    const session = manager.createTeacher(panel);
    try {
      await session.resume(teacher.session_code, teacher.teacher_key, teacher.title);
    } catch (err) {
      if (session.status === 'ended') {
        manager.drop(panel);
        Notification.info(`Session ${teacher.session_code} has ended.`, { autoClose: 5000 });
      }
    }
    return;
  }
  const code = manager.memory.getStudentNotebook(path);
  if (code) {
    const record = manager.memory.getStudent(code);
    const session = manager.createStudent(panel);
    try {
      await session.join(code, record?.name || manager.memory.getLastName(), record?.student_key || '', false);
    } catch (err) {
      if (session.status !== 'active') {
        manager.drop(panel);
        Notification.info(`Could not rejoin session ${code}: ${errorText(err)}`, { autoClose: 6000 });
      }
    }
  }
}

export async function endSession(manager: SessionManager, panel: NotebookPanel): Promise<void> {
  const session = manager.get(panel);
  if (!session) {
    return;
  }
  try {
    if (session instanceof TeacherSession) {
      await session.end();
    } else {
      await session.leave();
    }
  } catch (err) {
    // The session is closed locally anyway.
    console.warn('notebook-sync: closing a session failed', err);
  }
  manager.drop(panel);
}

export async function joinSession(manager: SessionManager, panel: NotebookPanel): Promise<void> {
  const value = await askJoin(manager.memory.getLastName());
  if (!value) {
    return;
  }
  const code = normaliseCode(value.code);
  manager.memory.setLastName(value.name);
  const previous = manager.memory.getStudent(code);
  const session = manager.createStudent(panel);
  try {
    await session.join(code, value.name, previous?.student_key || '');
    Notification.success(`Joined "${session.title}" as ${session.name}.`, { autoClose: 4000 });
  } catch (err) {
    manager.drop(panel);
    fail('Could not join', err);
  }
}

/** Pull one cell; on conflict ask, then retry with the choice. Returns false if nothing applied. */
export async function pullCell(session: StudentSession, cellId: string): Promise<boolean> {
  try {
    let { reply, before } = await session.pull(cellId);
    if (reply.status === 'conflict') {
      const choice = await showConflict(reply, before ?? '');
      if (!choice) {
        return false;
      }
      ({ reply, before } = await session.pull(cellId, choice));
    }
    if (reply.status === 'replaced' && before !== null && before !== reply.content.source) {
      const mine = typeof reply.mine === 'string' ? reply.mine : before;
      Notification.info('Your text was replaced by the teacher\u2019s.', {
        autoClose: 8000,
        actions: [{ label: 'Undo', callback: () => session.restore(cellId, mine) }]
      });
    }
    return true;
  } catch (err) {
    fail('Pull failed', err);
    return false;
  }
}

export async function previewCell(session: StudentSession, cellId: string): Promise<void> {
  try {
    const preview = await session.preview(cellId);
    const pull = await showPreview(preview, session.localSource(cellId));
    if (pull) {
      await pullCell(session, cellId);
    }
  } catch (err) {
    fail('Preview failed', err);
  }
}

export async function restoreMissing(session: StudentSession, cellId: string): Promise<void> {
  try {
    await session.restoreMissing(cellId);
  } catch (err) {
    fail('Could not add the cell', err);
  }
}

export async function pullAll(session: StudentSession): Promise<void> {
  const cells = session.tracker.pullable();
  let pulled = 0;
  for (const state of cells) {
    if (await pullCell(session, state.cellId)) {
      pulled++;
    }
  }
  const skipped = session.tracker.pending().length;
  Notification.info(
    `Pulled ${pulled} cell(s)` + (skipped ? `; ${skipped} still pending (locked or undecided).` : '.'),
    { autoClose: 4000 }
  );
}

export async function pushCell(session: TeacherSession, cellId: string): Promise<void> {
  try {
    await session.push(cellId);
  } catch (err) {
    fail('Push failed', err);
  }
}

export async function toggleShared(session: TeacherSession, cellId: string, shared: boolean): Promise<void> {
  try {
    await session.setShared(cellId, shared);
  } catch (err) {
    fail(shared ? 'Sharing failed' : 'Locking failed', err);
  }
}
