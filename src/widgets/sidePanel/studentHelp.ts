/**
 * The student's help section of the class panel: the teacher's private suggestions (Preview,
 * Pull) and the student's help requests with the teacher's answers.
 */
import { previewCell, pullCell } from '../../actions/cells';
import { IActionContext } from '../../actions/context';
import { withdrawHelp } from '../../actions/help';
import { StudentSession } from '../../model/studentSession';
import { el } from '../dom';

function cellName(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string
): string {
  const state = session.cellState(cellId);
  return state
    ? ctx.trans.__('%1 cell #%2', state.cellType, state.teacherIndex + 1)
    : cellId;
}

export function renderStudentHelpSection(
  ctx: IActionContext,
  session: StudentSession,
  node: HTMLElement
): void {
  const { trans } = ctx;
  const suggestions = session.suggestions.pending();
  const requests = session.help.all();
  if (!suggestions.length && !requests.length) {
    return;
  }
  node.appendChild(el('h3', '', trans.__('Help from the teacher')));
  const list = el('ul', 'jp-nbsync-pending jp-nbsync-student-help');
  for (const { cellId } of suggestions) {
    const li = el('li', 'jp-nbsync-suggestion-item');
    li.dataset.cellId = cellId;
    li.appendChild(
      el(
        'span',
        'jp-nbsync-pending-label',
        trans.__('Suggestion for %1', cellName(ctx, session, cellId))
      )
    );
    const preview = el(
      'button',
      'jp-nbsync-button jp-nbsync-suggestion-preview',
      trans.__('Preview')
    );
    preview.addEventListener(
      'click',
      () => void previewCell(ctx, session, cellId, 'suggestion')
    );
    const pull = el(
      'button',
      'jp-nbsync-button jp-nbsync-suggestion-pull',
      trans.__('Pull')
    );
    pull.addEventListener(
      'click',
      () => void pullCell(ctx, session, cellId, 'suggestion')
    );
    li.append(preview, pull);
    list.appendChild(li);
  }
  for (const help of requests) {
    const li = el('li', 'jp-nbsync-help-request-item');
    li.dataset.cellId = help.cellId;
    const state = help.resolved
      ? trans.__('resolved')
      : help.answers > 0
        ? trans.__('answered')
        : trans.__('waiting for the teacher');
    li.appendChild(
      el(
        'span',
        'jp-nbsync-pending-label',
        trans.__('Help on %1: %2', cellName(ctx, session, help.cellId), state)
      )
    );
    if (help.answerNote) {
      li.appendChild(el('div', 'jp-nbsync-help-answer-text', help.answerNote));
    }
    if (help.open) {
      const withdraw = el(
        'button',
        'jp-nbsync-button jp-nbsync-help-withdraw',
        trans.__('Withdraw')
      );
      withdraw.addEventListener(
        'click',
        () => void withdrawHelp(ctx, session, help.cellId)
      );
      li.appendChild(withdraw);
    }
    list.appendChild(li);
  }
  node.appendChild(list);
}
