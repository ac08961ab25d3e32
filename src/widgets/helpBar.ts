/**
 * The help parts of the cell bar: the student's "Ask for help" (or the open request with
 * Withdraw, and the teacher's answer), the teacher's private suggestion with its own Preview and
 * Pull. Text only, never markup.
 */
import { previewCell, pullCell } from '../actions/cells';
import { IActionContext } from '../actions/context';
import { askHelp, withdrawHelp } from '../actions/help';
import { StudentSession } from '../model/studentSession';
import { el } from './dom';

/** "Suggestion from teacher" with Preview and Pull (source: suggestion), when one is pending. */
export function renderSuggestion(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string,
  node: HTMLElement
): void {
  if (!session.suggestions.has(cellId)) {
    return;
  }
  const { trans } = ctx;
  const badge = el(
    'span',
    'jp-nbsync-badge jp-nbsync-suggestion-badge',
    trans.__('Suggestion from teacher')
  );
  badge.title = trans.__('An answer to your help request, for you only');
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
  const group = el('span', 'jp-nbsync-suggestion');
  group.append(badge, preview, pull);
  node.appendChild(group);
}

/** The student's help request of a cell: ask, or its state, the answer and Withdraw. */
export function renderStudentHelp(
  ctx: IActionContext,
  session: StudentSession,
  cellId: string,
  node: HTMLElement
): void {
  const { trans } = ctx;
  const help = session.help.get(cellId);
  const group = el('span', 'jp-nbsync-help-group');
  if (help?.open) {
    group.appendChild(
      el(
        'span',
        'jp-nbsync-help-open',
        help.answers > 0
          ? trans.__('Help request answered')
          : trans.__('Help requested')
      )
    );
    const withdraw = el(
      'button',
      'jp-nbsync-button jp-nbsync-help-withdraw',
      trans.__('Withdraw')
    );
    withdraw.addEventListener(
      'click',
      () => void withdrawHelp(ctx, session, cellId)
    );
    group.appendChild(withdraw);
  } else {
    if (help?.resolved) {
      group.appendChild(
        el('span', 'jp-nbsync-help-resolved', trans.__('Resolved'))
      );
    }
    const ask = el(
      'button',
      'jp-nbsync-button jp-nbsync-help-ask',
      trans.__('Ask for help')
    );
    ask.title = trans.__(
      'Send your text of this cell and a note to the teacher'
    );
    ask.addEventListener('click', () => void askHelp(ctx, session, cellId));
    group.appendChild(ask);
  }
  if (help?.answerNote) {
    const answer = el('span', 'jp-nbsync-help-answer-note');
    answer.append(
      el('span', 'jp-nbsync-help-answer-label', trans.__('Teacher:')),
      ' ',
      el('span', 'jp-nbsync-help-answer-text', help.answerNote)
    );
    group.appendChild(answer);
  }
  node.appendChild(group);
}
