/**
 * The class panel of a teacher: the session code, the roster and how up to date each student
 * is, End session.
 */
import { IActionContext } from '../../actions/context';
import { endSession } from '../../actions/session';
import { IRosterStudent } from '../../api/messages';
import { TeacherSession } from '../../model/teacherSession';
import { renderCode } from '../dialogs';
import { el } from '../dom';
import { renderProgress } from '../progressView';
import { button } from './common';
import { renderHelpQueue } from './helpQueue';

export function renderTeacher(
  ctx: IActionContext,
  session: TeacherSession,
  node: HTMLElement
): void {
  const { trans } = ctx;
  node.appendChild(renderCode(trans, session.code));
  renderHelpQueue(ctx, session, node);
  const shared = session.panel.content.widgets
    .filter(w => session.cell(w.model.id)?.shared)
    .map(w => w.model.id);
  node.appendChild(
    el('h3', '', trans.__('Students (%1)', session.roster.length))
  );
  if (!session.roster.length) {
    node.appendChild(
      el('p', 'jp-nbsync-help', trans.__('No student has joined yet.'))
    );
  } else {
    node.appendChild(roster(ctx, session, shared));
  }
  node.appendChild(
    el('p', 'jp-nbsync-help', trans.__('%1 shared cell(s).', shared.length))
  );
  renderProgress(ctx, session, node);
  const actions = el('div', 'jp-nbsync-actions');
  actions.appendChild(
    button(
      trans.__('End session'),
      'jp-nbsync-end',
      () => void endSession(ctx, session.panel)
    )
  );
  node.appendChild(actions);
}

/** Who is online, and how many of the shared cells each student has up to date. */
function roster(
  { trans }: IActionContext,
  session: TeacherSession,
  shared: string[]
): HTMLElement {
  const table = el('table', 'jp-nbsync-roster');
  const head = table.createTHead().insertRow();
  for (const title of ['', trans.__('Name'), trans.__('Up to date')]) {
    head.appendChild(el('th', '', title));
  }
  const body = table.createTBody();
  for (const student of session.roster) {
    const row = body.insertRow();
    row.dataset.studentId = student.student_id;
    const dot = el(
      'span',
      `jp-nbsync-dot ${student.online ? 'jp-mod-online' : 'jp-mod-offline'}`
    );
    dot.title = student.online ? trans.__('online') : trans.__('offline');
    row.insertCell().appendChild(dot);
    row.insertCell().appendChild(studentName(trans, student));
    const cell = row.insertCell();
    cell.className = 'jp-nbsync-pulled';
    cell.textContent = trans.__(
      '%1/%2 cells',
      upToDate(session, student, shared),
      shared.length
    );
    cell.title = Object.entries(student.pulled || {})
      .map(([id, seq]) => `${id.slice(0, 8)}: #${seq}`)
      .join('\n');
  }
  return table;
}

/** The name the student typed and, where the server knows them (JupyterHub), who they are:
 * a typed name alone could be anyone's. Text only, never markup. */
function studentName(
  trans: IActionContext['trans'],
  student: IRosterStudent
): HTMLElement {
  const node = el('span', 'jp-nbsync-roster-name', student.name);
  if (student.user) {
    const user = el('span', 'jp-nbsync-roster-user', student.user);
    user.title = trans.__('JupyterHub user');
    node.append(' ', user);
  }
  return node;
}

/** How many of the shared cells a student has pulled in their latest version. */
function upToDate(
  session: TeacherSession,
  student: IRosterStudent,
  shared: string[]
): number {
  return shared.filter(id => {
    const pulled = student.pulled?.[id] ?? 0;
    const pushed = session.cell(id)?.pushedSeq ?? 0;
    return pulled >= pushed && pushed > 0;
  }).length;
}
