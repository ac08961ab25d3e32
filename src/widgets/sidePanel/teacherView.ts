/**
 * The class panel of a teacher: the session code, the help queue, the roster and how up to
 * date each student is, the progress table, End session.
 *
 * Each section has its own container and redraws only when its own data changed: the panel
 * calls `update()` at most once per animation frame, and each section compares what it shows
 * (the roster object and the cells' push state; the help queue's items; the progress matrix
 * and the rows in view) with what it drew last.
 */
import { IActionContext } from '../../actions/context';
import { endSession } from '../../actions/session';
import { IRosterStudent } from '../../api/messages';
import { TeacherSession } from '../../model/teacherSession';
import { renderCode } from '../dialogs';
import { el, IKeyedEntry, KeyedNodes, setText } from '../dom';
import { ProgressTableView } from '../progressTable';
import { button } from './common';
import { HelpQueueView } from './helpQueue';

export class TeacherView {
  readonly node = el('div', 'jp-nbsync-teacher-view');

  constructor(
    private _ctx: IActionContext,
    readonly session: TeacherSession,
    schedule: () => void
  ) {
    const { trans } = _ctx;
    this._code = el('div', 'jp-nbsync-code-section');
    this._help = new HelpQueueView(_ctx, session);
    this._roster = new RosterView(_ctx, session);
    this._progress = new ProgressTableView(_ctx, session, schedule);
    const actions = el('div', 'jp-nbsync-actions');
    actions.appendChild(
      button(
        trans.__('End session'),
        'jp-nbsync-end',
        () => void endSession(_ctx, session.panel)
      )
    );
    this.node.append(
      this._code,
      this._help.node,
      this._roster.node,
      this._progress.node,
      actions
    );
  }

  dispose(): void {
    this._progress.dispose();
  }

  update(nowMs: number = Date.now()): void {
    if (this._codeShown !== this.session.code) {
      this._codeShown = this.session.code;
      this._code.replaceChildren(
        renderCode(this._ctx.trans, this.session.code)
      );
    }
    this._help.update(nowMs);
    this._roster.update();
    this._progress.update();
  }

  private _codeShown: string | null = null;
  private _code: HTMLElement;
  private _help: HelpQueueView;
  private _roster: RosterView;
  private _progress: ProgressTableView;
}

interface IRosterEntry extends IKeyedEntry {
  student: IRosterStudent;
  upToDate: number;
}

/** Who is online, and how many of the shared cells each student has up to date. */
class RosterView {
  readonly node = el('div', 'jp-nbsync-roster-section');

  constructor(
    private _ctx: IActionContext,
    private _session: TeacherSession
  ) {
    const { trans } = _ctx;
    this._title = el('h3');
    this._empty = el(
      'p',
      'jp-nbsync-help',
      trans.__('No student has joined yet.')
    );
    this._table = el('table', 'jp-nbsync-roster');
    const head = this._table.createTHead().insertRow();
    for (const title of ['', trans.__('Name'), trans.__('Up to date')]) {
      head.appendChild(el('th', '', title));
    }
    this._rows = new KeyedNodes(this._table.createTBody(), e => this._row(e));
    this._sharedText = el('p', 'jp-nbsync-help');
    this.node.append(this._title, this._empty, this._sharedText);
  }

  update(): void {
    const session = this._session;
    const shared = session.panel.content.widgets
      .filter(w => session.cell(w.model.id)?.shared)
      .map(w => w.model.id);
    const pushed = shared.map(id => session.cell(id)?.pushedSeq ?? 0);
    const key = `${shared.join(',')}|${pushed.join(',')}`;
    if (session.roster === this._roster && key === this._key) {
      return;
    }
    this._roster = session.roster;
    this._key = key;
    const { trans } = this._ctx;
    const roster = session.roster;
    setText(this._title, trans.__('Students (%1)', roster.length));
    setText(this._sharedText, trans.__('%1 shared cell(s).', shared.length));
    this._shared = shared.length;
    const entries = roster.map(student => {
      const upToDate = shared.filter((id, i) => {
        const pulled = student.pulled?.[id] ?? 0;
        return pulled >= pushed[i] && pushed[i] > 0;
      }).length;
      const sig = JSON.stringify([
        student.name,
        student.user ?? '',
        student.online,
        upToDate,
        shared.length,
        student.pulled || {}
      ]);
      return { key: student.student_id, sig, student, upToDate };
    });
    this._rows.update(entries);
    const shown = roster.length ? this._table : this._empty;
    if (this.node.children[1] !== shown) {
      this.node.replaceChildren(this._title, shown, this._sharedText);
    }
  }

  private _row({ student, upToDate }: IRosterEntry): HTMLTableRowElement {
    const { trans } = this._ctx;
    const row = el('tr');
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
    cell.textContent = trans.__('%1/%2 cells', upToDate, this._shared);
    cell.title = Object.entries(student.pulled || {})
      .map(([id, seq]) => `${id.slice(0, 8)}: #${seq}`)
      .join('\n');
    return row;
  }

  private _title: HTMLElement;
  private _empty: HTMLElement;
  private _table: HTMLTableElement;
  private _sharedText: HTMLElement;
  private _rows: KeyedNodes<IRosterEntry>;
  private _roster: IRosterStudent[] | null = null;
  private _key = '';
  private _shared = 0;
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
