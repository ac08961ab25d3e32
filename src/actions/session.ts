/**
 * Starting, joining, restoring and ending a notebook's session, with their dialogs and
 * notifications.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';

import { normaliseCode } from '../logic/storage';
import { TeacherSession } from '../model/teacherSession';
import { askJoin, askSessionTitle, showCodeDialog } from '../widgets/dialogs';
import { errorText, IActionContext, notifyFailure } from './context';

export async function startSession(
  ctx: IActionContext,
  panel: NotebookPanel
): Promise<void> {
  const { manager, trans } = ctx;
  const existing = manager.get(panel);
  if (existing && existing.status === 'active') {
    if (existing instanceof TeacherSession) {
      await showCodeDialog(trans, existing.code, existing.title);
    }
    return;
  }
  const defaultTitle =
    panel.context.path
      .split('/')
      .pop()
      ?.replace(/\.ipynb$/, '') || trans.__('Class');
  const title = await askSessionTitle(trans, defaultTitle);
  if (title === null) {
    return;
  }
  const session = manager.createTeacher(panel);
  try {
    await session.start(title || defaultTitle);
  } catch (err) {
    manager.drop(panel);
    notifyFailure(ctx, trans.__('Could not start the session'), err);
    return;
  }
  await showCodeDialog(trans, session.code, session.title);
}

/** Re-open the session remembered for this notebook after a reload (teacher or student). */
export async function restoreSession(
  ctx: IActionContext,
  panel: NotebookPanel
): Promise<void> {
  if (ctx.manager.get(panel)) {
    return;
  }
  if (!(await resumeTeacher(ctx, panel))) {
    await rejoinStudent(ctx, panel);
  }
}

/** Resume the teacher's session of this notebook, if one is remembered. */
async function resumeTeacher(
  { manager, trans }: IActionContext,
  panel: NotebookPanel
): Promise<boolean> {
  const teacher = manager.memory.getTeacher(panel.context.path);
  if (!teacher) {
    return false;
  }
  const session = manager.createTeacher(panel);
  try {
    await session.resume(
      teacher.session_code,
      teacher.teacher_key,
      teacher.title
    );
  } catch {
    if (session.status === 'ended') {
      manager.drop(panel);
      Notification.info(
        trans.__('Session %1 has ended.', teacher.session_code),
        { autoClose: 5000 }
      );
    }
  }
  return true;
}

/** Re-join the session this notebook was joined to as a student, if any. */
async function rejoinStudent(
  { manager, trans }: IActionContext,
  panel: NotebookPanel
): Promise<void> {
  const code = manager.memory.getStudentNotebook(panel.context.path);
  if (!code) {
    return;
  }
  const record = manager.memory.getStudent(code);
  const session = manager.createStudent(panel);
  try {
    await session.join(
      code,
      record?.name || manager.memory.getLastName(),
      record?.student_key || '',
      false
    );
  } catch (err) {
    if (session.status !== 'active') {
      manager.drop(panel);
      Notification.info(
        trans.__(
          'Could not rejoin session %1: %2',
          code,
          errorText(trans, err)
        ),
        { autoClose: 6000 }
      );
    }
  }
}

export async function endSession(
  { manager }: IActionContext,
  panel: NotebookPanel
): Promise<void> {
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

export async function joinSession(
  ctx: IActionContext,
  panel: NotebookPanel
): Promise<void> {
  const { manager, trans } = ctx;
  const value = await askJoin(trans, manager.memory.getLastName());
  if (!value) {
    return;
  }
  const code = normaliseCode(value.code);
  manager.memory.setLastName(value.name);
  const previous = manager.memory.getStudent(code);
  const session = manager.createStudent(panel);
  try {
    await session.join(code, value.name, previous?.student_key || '');
    Notification.success(
      trans.__('Joined "%1" as %2.', session.title, session.name),
      { autoClose: 4000 }
    );
  } catch (err) {
    manager.drop(panel);
    notifyFailure(ctx, trans.__('Could not join'), err);
  }
}
