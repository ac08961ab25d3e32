/**
 * The teacher's help queue: who asked (the name they typed and their hub user), on which cell,
 * their note, how long they have waited; oldest first, with Open and Resolve. Everything a
 * student sent is shown as text, never markup.
 *
 * At class scale (hundreds of requests within a second) the list is kept, not redrawn: one
 * item per (student, cell), a new request inserts one item, an update patches its own item,
 * and "waiting N min" and the cell's label (its first line, as the teacher types) are set as
 * text where they changed.
 */
import { IActionContext } from '../../actions/context';
import { cellLabel, openHelpRequest, resolveHelp } from '../../actions/help';
import { IHelpRequestInfo } from '../../api/messages';
import { waitingMinutes } from '../../logic/help';
import { TeacherSession } from '../../model/teacherSession';
import { el, IKeyedEntry, KeyedNodes, setText } from '../dom';
import { button } from './common';

interface IHelpEntry extends IKeyedEntry {
  request: IHelpRequestInfo;
  cell: string;
}

export class HelpQueueView {
  readonly node = el('div', 'jp-nbsync-help-section');

  constructor(
    private _ctx: IActionContext,
    private _session: TeacherSession
  ) {
    const { trans } = _ctx;
    this._title = el('h3', 'jp-nbsync-help-title');
    this._empty = el(
      'p',
      'jp-nbsync-help',
      trans.__('No student is waiting for help.')
    );
    this._list = el('ul', 'jp-nbsync-help-queue');
    this._items = new KeyedNodes(this._list, entry => this._item(entry));
    this.node.append(this._title, this._empty);
  }

  /** Draw what changed since the last update (nothing when nothing did). */
  update(nowMs: number = Date.now()): void {
    const ctx = this._ctx;
    const session = this._session;
    const requests = session.helpQueue.ordered();
    setText(this._title, ctx.trans.__('Help requests (%1)', requests.length));
    const labels = new Map<string, string>();
    const label = (cellId: string): string => {
      let text = labels.get(cellId);
      if (text === undefined) {
        text = cellLabel(ctx, session, cellId);
        labels.set(cellId, text);
      }
      return text;
    };
    const entries = requests.map(request => {
      const cell = label(request.cell_id);
      const sig = [
        request.name,
        request.user ?? '',
        request.note ?? '',
        request.answer ? (request.answer.has_suggestion ? 's' : 'a') : ''
      ].join('\u0000');
      return { key: key(request), sig, request, cell };
    });
    this._requests = new Map(entries.map(e => [e.key, e.request]));
    for (const k of this._parts.keys()) {
      if (!this._requests.has(k)) {
        this._parts.delete(k);
      }
    }
    this._items.update(entries);
    for (const entry of entries) {
      const parts = this._parts.get(entry.key);
      if (parts) {
        setText(parts.wait, this._waitText(entry.request, nowMs));
        setText(parts.cell, entry.cell);
      }
    }
    const shown = requests.length ? this._list : this._empty;
    if (this.node.lastChild !== shown) {
      this.node.replaceChildren(this._title, shown);
    }
  }

  private _waitText(request: IHelpRequestInfo, nowMs: number): string {
    const { trans } = this._ctx;
    const minutes = waitingMinutes(request.opened, nowMs);
    return minutes < 1
      ? trans.__('just now')
      : trans._n('waiting %1 min', 'waiting %1 min', minutes);
  }

  private _item(entry: IHelpEntry): HTMLLIElement {
    const { trans } = this._ctx;
    const { request } = entry;
    const k = entry.key;
    // the latest request of this (student, cell) when clicked
    const current = (): IHelpRequestInfo => this._requests.get(k) ?? request;
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
    const wait = el(
      'span',
      'jp-nbsync-help-wait',
      this._waitText(request, Date.now())
    );
    head.appendChild(wait);
    li.appendChild(head);
    const cell = el('div', 'jp-nbsync-help-cell', entry.cell);
    li.appendChild(cell);
    // patched in place later (a patched item gets these very nodes)
    this._parts.set(k, { wait, cell });
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
        () => void openHelpRequest(this._ctx, this._session, current()),
        true
      ),
      button(
        trans.__('Resolve'),
        'jp-nbsync-help-resolve',
        () => void resolveHelp(this._ctx, this._session, current())
      )
    );
    li.appendChild(actions);
    return li;
  }

  private _title: HTMLElement;
  private _empty: HTMLElement;
  private _list: HTMLUListElement;
  private _items: KeyedNodes<IHelpEntry>;
  private _requests = new Map<string, IHelpRequestInfo>();
  private _parts = new Map<string, { wait: HTMLElement; cell: HTMLElement }>();
}

function key(request: IHelpRequestInfo): string {
  return `${request.student_id}\u0000${request.cell_id}`;
}
