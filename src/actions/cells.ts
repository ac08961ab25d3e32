/**
 * Per-cell flows: the student's preview and pull (with the conflict dialog and the undo
 * notice), the teacher's push and share/lock; failures are shown as notifications.
 */
import { Notification } from '@jupyterlab/apputils';

import { SyncError } from '../api/errors';
import { PullSource, StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { showConflict, showPreview } from '../widgets/dialogs';
import { IActionContext, notifyFailure } from './context';

/** Pull one cell; on conflict ask, then retry with the choice. Returns false if nothing applied. */
export async function pullCell(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string,
  from: PullSource = 'teacher',
  withOutputs = false
): Promise<boolean> {
  const { trans } = ctx;
  const pull = (strategy?: 'theirs' | 'mine') =>
    from === 'suggestion'
      ? session.pullSuggestion(cellId, strategy)
      : session.pull(cellId, strategy, withOutputs);
  try {
    let { reply, before } = await pull();
    if (reply.status === 'conflict') {
      const choice = await showConflict(trans, reply, before ?? '', from);
      if (!choice) {
        return false;
      }
      ({ reply, before } = await pull(choice));
    }
    if (
      reply.status === 'replaced' &&
      before !== null &&
      before !== reply.content.source
    ) {
      const mine = typeof reply.mine === 'string' ? reply.mine : before;
      Notification.info(
        trans.__('Your text was replaced by the teacher\u2019s.'),
        {
          autoClose: 8000,
          actions: [
            {
              label: trans.__('Undo'),
              callback: () => session.restore(cellId, mine)
            }
          ]
        }
      );
    }
    return true;
  } catch (err) {
    if (
      err instanceof SyncError &&
      err.code === 'no_update' &&
      from === 'suggestion'
    ) {
      Notification.info(trans.__('There is no suggestion to pull any more.'), {
        autoClose: 4000
      });
      return false;
    }
    if (err instanceof SyncError && err.code === 'no_update') {
      // Another tab of this notebook pulled it first (with real-time collaboration the
      // notebook already holds it): nothing failed.
      Notification.info(trans.__('This cell is already up to date.'), {
        autoClose: 4000
      });
      return false;
    }
    notifyFailure(ctx, trans.__('Pull failed'), err);
    return false;
  }
}

export async function previewCell(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string,
  from: PullSource = 'teacher'
): Promise<void> {
  try {
    const preview = await session.preview(cellId, from);
    const pull = await showPreview(
      ctx.trans,
      preview,
      session.localSource(cellId),
      from
    );
    if (pull) {
      await pullCell(ctx, session, cellId, from);
    }
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Preview failed'), err);
  }
}

export async function restoreMissing(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string
): Promise<void> {
  try {
    await session.restoreMissing(cellId);
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Could not add the cell'), err);
  }
}

export async function pullAll(
  ctx: IActionContext,
  session: StudentSession
): Promise<void> {
  const { trans } = ctx;
  let pulled = 0;
  for (const state of session.tracker.pullable()) {
    if (await pullCell(ctx, session, state.cellId)) {
      pulled++;
    }
  }
  const skipped = session.tracker.pending().length;
  Notification.info(
    skipped
      ? trans.__(
          'Pulled %1 cell(s); %2 still pending (locked or undecided).',
          pulled,
          skipped
        )
      : trans.__('Pulled %1 cell(s).', pulled),
    { autoClose: 4000 }
  );
}

export async function pushCell(
  ctx: IActionContext,
  session: TeacherSession,
  cellId: string
): Promise<void> {
  try {
    await session.push(cellId);
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Push failed'), err);
  }
}

export async function toggleShareOutputs(
  ctx: IActionContext,
  session: TeacherSession,
  cellId: string,
  share: boolean
): Promise<void> {
  try {
    await session.setShareOutputs(cellId, share);
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Sharing outputs failed'), err);
  }
}

export async function toggleShared(
  ctx: IActionContext,
  session: TeacherSession,
  cellId: string,
  shared: boolean
): Promise<void> {
  try {
    await session.setShared(cellId, shared);
  } catch (err) {
    const what = shared
      ? ctx.trans.__('Sharing failed')
      : ctx.trans.__('Locking failed');
    notifyFailure(ctx, what, err);
  }
}
