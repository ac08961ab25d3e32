/**
 * The teacher's help queue: who asked (the name they typed and their hub user), on which cell,
 * their note, how long they have waited; oldest first, with Open and Resolve. Everything a
 * student sent is shown as text, never markup.
 */
import { IActionContext } from '../../actions/context';
import { cellLabel, openHelpRequest, resolveHelp } from '../../actions/help';
import { IHelpRequestInfo } from '../../api/messages';
import { waitingMinutes } from '../../logic/help';
import { TeacherSession } from '../../model/teacherSession';
import { el } from '../dom';
import { button } from './common';

export function renderHelpQueue(
  ctx: IActionContext,
  session: TeacherSession,
  node: HTMLElement,
  nowMs: number = Date.now()
): void {
  const { trans } = ctx;
  const requests = session.helpQueue.ordered();
  node.appendChild(
    el(
      'h3',
      'jp-nbsync-help-title',
      trans.__('Help requests (%1)', requests.length)
    )
  );
  if (!requests.length) {
    node.appendChild(
      el('p', 'jp-nbsync-help', trans.__('No student is waiting for help.'))
    );
    return;
  }
  const list = el('ul', 'jp-nbsync-help-queue');
  list.append(...requests.map(r => item(ctx, session, r, nowMs)));
  node.appendChild(list);
}

function item(
  ctx: IActionContext,
  session: TeacherSession,
  request: IHelpRequestInfo,
  nowMs: number
): HTMLLIElement {
  const { trans } = ctx;
  const li = el('li', 'jp-nbsync-help-item');
  li.dataset.studentId = request.student_id;
  li.dataset.cellId = request.cell_id;
  const head = el('div', 'jp-nbsync-help-head');
  head.appendChild(
    el('span', 'jp-nbsync-help-name', request.name || trans.__('anonymous'))
  );
  if (request.user) {
    const user = el('span', 'jp-nbsync-roster-user', request.user);
    user.title = trans.__('JupyterHub user');
    head.append(' ', user);
  }
  const minutes = waitingMinutes(request.opened, nowMs);
  head.appendChild(
    el(
      'span',
      'jp-nbsync-help-wait',
      minutes < 1
        ? trans.__('just now')
        : trans._n('waiting %1 min', 'waiting %1 min', minutes)
    )
  );
  li.appendChild(head);
  li.appendChild(
    el('div', 'jp-nbsync-help-cell', cellLabel(ctx, session, request.cell_id))
  );
  if (request.note) {
    li.appendChild(el('div', 'jp-nbsync-help-note', request.note));
  }
  if (request.answer) {
    li.appendChild(
      el(
        'div',
        'jp-nbsync-help-answered',
        request.answer.has_suggestion
          ? trans.__('answered, suggestion not pulled yet')
          : trans.__('answered')
      )
    );
  }
  const actions = el('div', 'jp-nbsync-help-actions');
  actions.append(
    button(
      trans.__('Open'),
      'jp-nbsync-help-open-request',
      () => void openHelpRequest(ctx, session, request),
      true
    ),
    button(
      trans.__('Resolve'),
      'jp-nbsync-help-resolve',
      () => void resolveHelp(ctx, session, request)
    )
  );
  li.appendChild(actions);
  return li;
}
