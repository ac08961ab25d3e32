/**
 * The "Follow teacher" side panel: the session's live Yjs room, read-only, cell by cell, with
 * whether the student's own copy is behind and a button to pull each cell (the normal pull path,
 * so merges and conflict dialogs behave as from the cell badge).
 */
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';

import { pullCell, restoreMissing } from '../actions/cells';
import { IActionContext } from '../actions/context';
import { FollowRoom } from '../api/followRoom';
import {
  followAction,
  followView,
  IFollowCell,
  IStudentSide
} from '../logic/follow';
import { StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { el, RenderedPanel } from './dom';
import { followIcon } from './icons';
import { followActionText, followCellText, followStateText } from './labels';

/** The student's side of the view model, read from their session. */
function studentSide(session: StudentSession): IStudentSide {
  return {
    pulledSeq: id => session.cellState(id)?.pulledSeq ?? 0,
    hasCell: id => session.localSource(id) !== null
  };
}

export class FollowPanel extends RenderedPanel {
  constructor(
    private _ctx: IActionContext,
    private _settings?: ServerConnection.ISettings
  ) {
    super();
    this.id = 'notebook-sync-follow';
    this.title.icon = followIcon;
    this.title.caption = _ctx.trans.__('Follow teacher');
    this.addClass('jp-nbsync-follow');
    _ctx.manager.changed.connect(this._onSessionsChanged, this);
    _ctx.manager.cellsChanged.connect(() => this.scheduleRender(), this);
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
    const session = this._ctx.manager.current;
    return session instanceof StudentSession ? session : null;
  }

  /** Open, keep or close the room for the current notebook's session. */
  private _onSessionsChanged(): void {
    const session = this._student();
    const wanted =
      this.isVisible &&
      session &&
      session.status === 'active' &&
      session.studentKey
        ? { code: session.code, key: session.studentKey, name: session.name }
        : null;
    const room = this._room;
    if (
      room &&
      (!wanted || room.code !== wanted.code || room.key !== wanted.key)
    ) {
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
    const { trans } = this._ctx;
    node.appendChild(
      el('h2', 'jp-nbsync-follow-title', trans.__('Follow teacher'))
    );
    const session = this._student();
    if (!session || session.status !== 'active') {
      node.appendChild(
        el('p', 'jp-nbsync-help jp-nbsync-follow-idle', this._idleText(session))
      );
      return;
    }
    const room = this._room;
    if (!room) {
      node.appendChild(
        el(
          'p',
          'jp-nbsync-help',
          trans.__('Open this panel to follow the teacher.')
        )
      );
      return;
    }
    this._renderRoom(session, room, node);
  }

  private _renderRoom(
    session: StudentSession,
    room: FollowRoom,
    node: HTMLElement
  ): void {
    const { trans } = this._ctx;
    const view = followView(
      room.cells(),
      room.roomState(),
      studentSide(session)
    );
    const state = el(
      'p',
      'jp-nbsync-follow-state',
      followStateText(trans, room.state)
    );
    state.dataset.state = room.state;
    node.appendChild(state);
    let about = trans.__(
      '"%1" \u00b7 %2 cell(s)',
      view.title || session.title || session.code,
      view.cells.length
    );
    if (view.students) {
      about += ` \u00b7 ${trans.__('%1/%2 students online', view.online, view.students)}`;
    }
    node.appendChild(el('p', 'jp-nbsync-follow-about', about));
    if (view.behind) {
      node.appendChild(
        el(
          'p',
          'jp-nbsync-follow-summary',
          trans.__('%1 cell(s) to pull', view.behind)
        )
      );
    }
    if (!view.cells.length) {
      const waiting =
        room.state === 'live'
          ? trans.__('The teacher has not shared any cell yet.')
          : trans.__('Waiting for the room\u2026');
      node.appendChild(el('p', 'jp-nbsync-help', waiting));
      return;
    }
    const stopped = room.state === 'ended' || room.state === 'closed';
    const list = el('ol', 'jp-nbsync-follow-cells');
    list.append(...view.cells.map(cell => this._renderCell(cell, stopped)));
    node.appendChild(list);
  }

  /** What the panel says when there is no active student session to follow. */
  private _idleText(session: StudentSession | null): string {
    const { manager, trans } = this._ctx;
    if (manager.current instanceof TeacherSession) {
      return trans.__(
        'You are teaching this notebook: your students follow its shared cells here.'
      );
    }
    if (session?.status === 'ended') {
      return trans.__('The session has ended.');
    }
    if (session?.status === 'starting') {
      return trans.__('Joining the session\u2026');
    }
    return trans.__(
      'Join a class session from a notebook to follow the teacher\u2019s notebook live here.'
    );
  }

  private _renderCell(cell: IFollowCell, stopped: boolean): HTMLLIElement {
    const { trans } = this._ctx;
    const item = el('li', 'jp-nbsync-follow-cell');
    item.dataset.cellId = cell.id;
    item.dataset.status = cell.status;
    item.dataset.cellType = cell.cellType;
    const head = el('div', 'jp-nbsync-follow-head');
    const status = el(
      'span',
      'jp-nbsync-follow-status',
      followCellText(trans, cell.status)
    );
    status.dataset.status = cell.status;
    head.append(
      el('span', 'jp-nbsync-follow-index', `#${cell.index + 1}`),
      el('span', 'jp-nbsync-follow-type', cell.cellType),
      status
    );
    const action = followAction(cell.status);
    if (action) {
      const { label, title } = followActionText(
        trans,
        action,
        cell.availableSeq
      );
      const pull = el(
        'button',
        'jp-nbsync-button jp-nbsync-follow-pull',
        label
      );
      pull.dataset.cellId = cell.id;
      pull.dataset.action = action === 'restore' ? 'restore' : 'pull';
      pull.title = title;
      pull.disabled = stopped || this._busy.has(cell.id);
      head.appendChild(pull);
    }
    item.appendChild(head);
    if (cell.locked) {
      item.appendChild(
        el('div', 'jp-nbsync-follow-locked', trans.__('Locked by the teacher'))
      );
    } else {
      item.appendChild(el('pre', 'jp-nbsync-follow-source', cell.source));
    }
    return item;
  }

  private _onClick = (event: MouseEvent): void => {
    const target =
      event.target instanceof Element
        ? event.target.closest('button.jp-nbsync-follow-pull')
        : null;
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
      target.dataset.action === 'restore'
        ? restoreMissing(this._ctx, session, cellId)
        : pullCell(this._ctx, session, cellId);
    void done.finally(() => {
      this._busy.delete(cellId);
      this.scheduleRender();
    });
  };

  private _room: FollowRoom | null = null;
  private _busy = new Set<string>();
}
