/**
 * The "Follow teacher" side panel: the session's live Yjs room, read-only, cell by cell, with
 * whether the student's own copy is behind and a button to pull each cell (the normal pull path,
 * so merges and conflict dialogs behave as from the cell badge).
 */
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';

import { pullCell, restoreMissing } from '../actions';
import { FollowRoom, FollowState } from '../follow';
import { actionLabel, followView, IFollowCell, IStudentSide, statusLabel } from '../logic/follow';
import { SessionManager } from '../manager';
import { StudentSession, TeacherSession } from '../session';
import { el, RenderedPanel } from './dom';

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M12 4.5C7 4.5 2.73 7.61 1 12c1.73 4.39 6 7.5 11 7.5s9.27-3.11 ' +
  '11-7.5c-1.73-4.39-6-7.5-11-7.5zM12 17a5 5 0 1 1 0-10 5 5 0 0 1 0 10zm0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/></svg>';

export const followIcon = new LabIcon({ name: 'notebook-sync-ydoc:follow', svgstr: SVG });

const STATE_TEXT: Record<FollowState, string> = {
  connecting: 'Connecting\u2026',
  live: 'Live',
  reconnecting: 'Reconnecting\u2026',
  failing: 'Cannot reach the follow room (retrying)',
  ended: 'The session has ended.',
  closed: 'Closed by the server.'
};

/** The student's side of the view model, read from their session. */
function studentSide(session: StudentSession): IStudentSide {
  return {
    pulledSeq: id => session.cellState(id)?.pulledSeq ?? 0,
    hasCell: id => session.localSource(id) !== null
  };
}

export class FollowPanel extends RenderedPanel {
  constructor(
    private _manager: SessionManager,
    private _settings?: ServerConnection.ISettings
  ) {
    super();
    this.id = 'notebook-sync-follow';
    this.title.icon = followIcon;
    this.title.caption = 'Follow teacher';
    this.addClass('jp-nbsync-follow');
    _manager.changed.connect(this._onSessionsChanged, this);
    _manager.cellsChanged.connect(() => this.scheduleRender(), this);
    // One listener for every button: the buttons are rebuilt on each render.
    this.node.addEventListener('click', this._onClick);
    this.render();
  }

  /** The room followed now (while the panel is visible and a student session is active). */
  get room(): FollowRoom | null {
    return this._room;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._closeRoom();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._onSessionsChanged();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    // Nobody is looking: do not keep a room open for nothing (it re-syncs when shown).
    this._closeRoom();
    this.scheduleRender();
  }

  private _student(): StudentSession | null {
    const session = this._manager.current;
    return session instanceof StudentSession ? session : null;
  }

  /** Open, keep or close the room for the current notebook's session. */
  private _onSessionsChanged(): void {
    const session = this._student();
    const wanted =
      this.isVisible && session && session.status === 'active' && session.studentKey
        ? { code: session.code, key: session.studentKey, name: session.name }
        : null;
    const room = this._room;
    if (room && (!wanted || room.code !== wanted.code || room.key !== wanted.key)) {
      this._closeRoom();
    }
    if (wanted && !this._room) {
      const fresh = new FollowRoom({ ...wanted, settings: this._settings });
      fresh.changed.connect(() => this.scheduleRender(), this);
      this._room = fresh;
    }
    this.scheduleRender();
  }

  private _closeRoom(): void {
    if (this._room) {
      this._room.dispose();
      this._room = null;
    }
  }

  protected fill(node: HTMLElement): void {
    node.appendChild(el('h2', 'jp-nbsync-follow-title', 'Follow teacher'));
    const session = this._student();
    if (!session || session.status !== 'active') {
      node.appendChild(el('p', 'jp-nbsync-help jp-nbsync-follow-idle', this._idleText(session)));
      return;
    }
    const room = this._room;
    if (!room) {
      node.appendChild(el('p', 'jp-nbsync-help', 'Open this panel to follow the teacher.'));
      return;
    }
    const view = followView(room.cells(), room.roomState(), studentSide(session));
    const state = el('p', 'jp-nbsync-follow-state', STATE_TEXT[room.state]);
    state.dataset.state = room.state;
    node.appendChild(state);
    const about = el(
      'p',
      'jp-nbsync-follow-about',
      `"${view.title || session.title || session.code}" \u00b7 ${view.cells.length} cell(s)` +
        (view.students ? ` \u00b7 ${view.online}/${view.students} students online` : '')
    );
    node.appendChild(about);
    if (view.behind) {
      node.appendChild(el('p', 'jp-nbsync-follow-summary', `${view.behind} cell(s) to pull`));
    }
    if (!view.cells.length) {
      node.appendChild(
        el(
          'p',
          'jp-nbsync-help',
          room.state === 'live' ? 'The teacher has not shared any cell yet.' : 'Waiting for the room\u2026'
        )
      );
      return;
    }
    const list = el('ol', 'jp-nbsync-follow-cells');
    for (const cell of view.cells) {
      list.appendChild(this._renderCell(cell, room.state === 'ended' || room.state === 'closed'));
    }
    node.appendChild(list);
  }

  /** What the panel says when there is no active student session to follow. */
  private _idleText(session: StudentSession | null): string {
    if (this._manager.current instanceof TeacherSession) {
      return 'You are teaching this notebook: your students follow its shared cells here.';
    }
    if (session?.status === 'ended') {
      return 'The session has ended.';
    }
    if (session?.status === 'starting') {
      return 'Joining the session\u2026';
    }
    return 'Join a class session from a notebook to follow the teacher\u2019s notebook live here.';
  }

  private _renderCell(cell: IFollowCell, stopped: boolean): HTMLLIElement {
    const item = el('li', 'jp-nbsync-follow-cell');
    item.dataset.cellId = cell.id;
    item.dataset.status = cell.status;
    item.dataset.cellType = cell.cellType;
    const head = el('div', 'jp-nbsync-follow-head');
    const status = el('span', 'jp-nbsync-follow-status', statusLabel(cell.status));
    status.dataset.status = cell.status;
    head.append(
      el('span', 'jp-nbsync-follow-index', `#${cell.index + 1}`),
      el('span', 'jp-nbsync-follow-type', cell.cellType),
      status
    );
    const label = actionLabel(cell.status);
    if (label) {
      const pull = el('button', 'jp-nbsync-button jp-nbsync-follow-pull', label);
      pull.dataset.cellId = cell.id;
      pull.dataset.action = cell.status === 'missing' ? 'restore' : 'pull';
      pull.title =
        cell.status === 'missing'
          ? 'Add the teacher\u2019s current version of this cell back to your notebook'
          : `Pull the teacher\u2019s version #${cell.availableSeq} into your notebook`;
      pull.disabled = stopped || this._busy.has(cell.id);
      head.appendChild(pull);
    }
    item.appendChild(head);
    if (cell.locked) {
      item.appendChild(el('div', 'jp-nbsync-follow-locked', 'Locked by the teacher'));
    } else {
      const pre = el('pre', 'jp-nbsync-follow-source');
      pre.textContent = cell.source;
      item.appendChild(pre);
    }
    return item;
  }

  private _onClick = (event: MouseEvent): void => {
    const target = event.target instanceof Element ? event.target.closest('button.jp-nbsync-follow-pull') : null;
    if (!(target instanceof HTMLButtonElement) || target.disabled) {
      return;
    }
    const session = this._student();
    const cellId = target.dataset.cellId;
    if (!session || !cellId || this._busy.has(cellId)) {
      return;
    }
    this._busy.add(cellId);
    this.scheduleRender();
    const done =
      target.dataset.action === 'restore' ? restoreMissing(session, cellId) : pullCell(session, cellId);
    void done.finally(() => {
      this._busy.delete(cellId);
      this.scheduleRender();
    });
  };

  private _room: FollowRoom | null = null;
  private _busy = new Set<string>();
}
