/**
 * The help flows: a student asks for help on a teacher cell or withdraws the request; the
 * teacher opens a request and answers it. Failures are shown as notifications.
 */
import { Notification } from '@jupyterlab/apputils';

import { IHelpRequestInfo } from '../api/messages';
import { StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { askHelpNote, showHelpRequest } from '../widgets/helpDialogs';
import { IActionContext, notifyFailure } from './context';

export async function askHelp(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string
): Promise<void> {
  const note = await askHelpNote(ctx.trans);
  if (note === null) {
    return;
  }
  try {
    await session.askHelp(cellId, note);
    Notification.info(ctx.trans.__('The teacher was asked for help.'), {
      autoClose: 3000
    });
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Asking for help failed'), err);
  }
}

export async function withdrawHelp(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string
): Promise<void> {
  try {
    await session.withdrawHelp(cellId);
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Withdrawing failed'), err);
  }
}

/** How the teacher's notebook names a cell: "code cell #3 · first line". */
export function cellLabel(
  ctx: IActionContext,
  session: TeacherSession,
  cellId: string
): string {
  const { trans } = ctx;
  const widgets = session.panel.content.widgets;
  const index = widgets.findIndex(w => w.model.id === cellId);
  if (index < 0) {
    return trans.__('a cell no longer in your notebook');
  }
  const model = widgets[index].model;
  const first =
    model.sharedModel
      .getSource()
      .split('\n')
      .find(line => line.trim() !== '') ?? '';
  const label = trans.__('%1 cell #%2', model.type, index + 1);
  return first ? `${label} \u00b7 ${first.trim().slice(0, 40)}` : label;
}

/** Open a request: the student's text beside the teacher's; send the answer. */
export async function openHelpRequest(
  ctx: IActionContext,
  session: TeacherSession,
  request: IHelpRequestInfo
): Promise<void> {
  const answer = await showHelpRequest(
    ctx.trans,
    request,
    session.source(request.cell_id),
    cellLabel(ctx, session, request.cell_id)
  );
  if (!answer) {
    return;
  }
  await sendAnswer(ctx, session, request, answer);
}

export async function resolveHelp(
  ctx: IActionContext,
  session: TeacherSession,
  request: IHelpRequestInfo
): Promise<void> {
  await sendAnswer(ctx, session, request, { resolve: true });
}

async function sendAnswer(
  ctx: IActionContext,
  session: TeacherSession,
  request: IHelpRequestInfo,
  answer: { note?: string; source?: string; resolve?: boolean }
): Promise<void> {
  try {
    await session.answerHelp(request.student_id, request.cell_id, answer);
  } catch (err) {
    notifyFailure(ctx, ctx.trans.__('Answering failed'), err);
  }
}
