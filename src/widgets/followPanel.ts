/**
 * The "Follow teacher" side panel: the session's live Yjs room, read-only, as a notebook
 * (highlighted code, rendered markdown; `follow/`), with whether the student's own copy is
 * behind and a button to pull each cell (the normal pull path, so merges and conflict dialogs
 * behave as from the cell badge). In a teacher's notebook it is the teacher's view of their own
 * session: what students see, locked cells marked.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { pullCell, restoreMissing } from '../actions/cells';
import { IActionContext } from '../actions/context';
import { FollowRoom } from '../api/followRoom';
import {
  followAction,
  followView,
  IFollowCell,
  IFollowView,
  IStudentSide
} from '../logic/follow';
import { StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { el, swapIfChanged } from './dom';
import { IFollowRenderers } from './follow/cellBody';
import { FollowCellList } from './follow/cellList';
import { followIcon } from './icons';
import { followActionText, followCellText, followStateText } from './labels';

/** The student's side of the view model, read from their session. */
function studentSide(session: StudentSession): IStudentSide {
  return {
    pulledSeq: id => session.cellState(id)?.pulledSeq ?? 0,
    hasCell: id => session.localSource(id) !== null
  };
}

/** What the view is rendered with: the application's editor factory and rendermime. */
export type FollowRenderers = Pick<
  IFollowRenderers,
  'editorFactory' | 'rendermime'
>;

/** The session this panel follows: the current notebook's, as a student or its teacher. */
interface ITarget {
  session: StudentSession | TeacherSession;
  code: string;
  key: string;
  name: string;
}

export class FollowPanel extends Widget {
  constructor(
    private _ctx: IActionContext,
    renderers: FollowRenderers,
    private _settings?: ServerConnection.ISettings
  ) {
    super();
    this.id = 'notebook-sync-follow';
    this.title.icon = followIcon;
    this.title.caption = _ctx.trans.__('Follow teacher');
    this.addClass('jp-nbsync-follow');
    this._renderers = {
      ...renderers,
      trans: _ctx.trans,
      codeMimeType: () =>
        this._ctx.manager.current?.panel.content.codeMimetype ??
        'text/x-ipython',
      teacherView: () => this._ctx.manager.current instanceof TeacherSession
    };
    this._header = el('div', 'jp-nbsync-follow-header');
    this.node.appendChild(this._header);
    _ctx.manager.changed.connect(this._onSessionsChanged, this);
    _ctx.manager.cellsChanged.connect(() => this.scheduleRender(), this);
    // One listener for every button: the buttons are redrawn on each render.
    this.node.addEventListener('click', this._onClick);
    this.render();
  }

  /** The room followed now (while the panel is visible and a session is active). */
  get room(): FollowRoom | null {
    return this._room;
  }

  /** Draw every cell now, not only those in view (a measurement, a screenshot). */
  renderAll(): void {
    this.render();
    this._list?.materializeAll();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._closeRoom();
    super.dispose();
  }

  render(): void {
    const fresh = el('div', 'jp-nbsync-follow-header');
    const view = this._fill(fresh);
    swapIfChanged(this._header, fresh);
    if (!view || !view.cells.length) {
      this._dropList();
      return;
    }
    if (!this._list) {
      this._list = new FollowCellList(this._renderers, this.node);
      this.node.appendChild(this._list.node);
    }
    const stopped =
      this._room?.state === 'ended' || this._room?.state === 'closed';
    this._list.update(view.cells, (cell, head) =>
      this._fillHead(cell, head, stopped)
    );
  }

  protected scheduleRender(): void {
    if (this._pending || this.isDisposed) {
      return;
    }
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      if (!this.isDisposed) {
        this.render();
      }
    });
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

  private _target(): ITarget | null {
    const session = this._ctx.manager.current;
    if (!session || session.status !== 'active') {
      return null;
    }
    if (session instanceof StudentSession && session.studentKey) {
      const { code, studentKey: key, name } = session;
      return { session, code, key, name };
    }
    if (session instanceof TeacherSession && session.teacherKey) {
      const { code, teacherKey: key } = session;
      return { session, code, key, name: this._ctx.trans.__('Teacher') };
    }
    return null;
  }

  /** Open, keep or close the room for the current notebook's session. */
  private _onSessionsChanged(): void {
    const target = this.isVisible ? this._target() : null;
    const room = this._room;
    if (
      room &&
      (!target || room.code !== target.code || room.key !== target.key)
    ) {
      this._closeRoom();
    }
    if (target && !this._room) {
      const { code, key, name } = target;
      const fresh = new FollowRoom({
        code,
        key,
        name,
        settings: this._settings
      });
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
    this._dropList();
  }

  private _dropList(): void {
    if (this._list) {
      this._list.dispose();
      this._list = null;
    }
  }

  /** The header; the view when there are cells to show. */
  private _fill(node: HTMLElement): IFollowView | null {
    const { trans } = this._ctx;
    const target = this._target();
    const teacher = target?.session instanceof TeacherSession;
    node.appendChild(
      el(
        'h2',
        'jp-nbsync-follow-title',
        teacher
          ? trans.__('What your students see')
          : trans.__('Follow teacher')
      )
    );
    if (!target) {
      node.appendChild(
        el('p', 'jp-nbsync-help jp-nbsync-follow-idle', this._idleText())
      );
      return null;
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
      return null;
    }
    const session = target.session;
    const view = followView(
      room.cells(),
      room.roomState(),
      session instanceof StudentSession ? studentSide(session) : null
    );
    this._fillAbout(node, room, view, session.title || session.code);
    if (!view.cells.length) {
      const waiting =
        room.state === 'live'
          ? trans.__('The teacher has not shared any cell yet.')
          : trans.__('Waiting for the room\u2026');
      node.appendChild(el('p', 'jp-nbsync-help', waiting));
    }
    return view;
  }

  private _fillAbout(
    node: HTMLElement,
    room: FollowRoom,
    view: IFollowView,
    title: string
  ): void {
    const { trans } = this._ctx;
    const state = el(
      'p',
      'jp-nbsync-follow-state',
      followStateText(trans, room.state)
    );
    state.dataset.state = room.state;
    node.appendChild(state);
    let about = trans.__(
      '"%1" \u00b7 %2 cell(s)',
      view.title || title,
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
  }

  /** What the panel says when there is no active session to follow. */
  private _idleText(): string {
    const { manager, trans } = this._ctx;
    const session = manager.current;
    if (session?.status === 'ended') {
      return trans.__('The session has ended.');
    }
    if (session?.status === 'starting') {
      return session instanceof TeacherSession
        ? trans.__('Starting the session\u2026')
        : trans.__('Joining the session\u2026');
    }
    return trans.__(
      'Join a class session from a notebook to follow the teacher\u2019s notebook live here.'
    );
  }

  private _fillHead(
    cell: IFollowCell,
    head: HTMLElement,
    stopped: boolean
  ): void {
    const { trans } = this._ctx;
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
    if (!action) {
      return;
    }
    const { label, title } = followActionText(trans, action, cell.availableSeq);
    const pull = el('button', 'jp-nbsync-button jp-nbsync-follow-pull', label);
    pull.dataset.cellId = cell.id;
    pull.dataset.action = action === 'restore' ? 'restore' : 'pull';
    pull.title = title;
    pull.disabled = stopped || this._busy.has(cell.id);
    head.appendChild(pull);
    if (action !== 'restore' && cell.outputs.length && this._student()) {
      const withOutputs = el(
        'button',
        'jp-nbsync-button jp-nbsync-follow-pull jp-nbsync-follow-pull-outputs',
        action === 'add'
          ? trans.__('Add with outputs')
          : trans.__('Pull with outputs')
      );
      withOutputs.dataset.cellId = cell.id;
      withOutputs.dataset.action = 'pull-outputs';
      withOutputs.title = trans.__(
        'Pull the teacher\u2019s cell and the outputs they share into your notebook'
      );
      withOutputs.disabled = pull.disabled;
      head.appendChild(withOutputs);
    }
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
    const action = target.dataset.action;
    const done =
      action === 'restore'
        ? restoreMissing(this._ctx, session, cellId)
        : pullCell(
            this._ctx,
            session,
            cellId,
            'teacher',
            action === 'pull-outputs'
          );
    void done.finally(() => {
      this._busy.delete(cellId);
      this.scheduleRender();
    });
  };

  private _renderers: IFollowRenderers;
  private _header: HTMLDivElement;
  private _list: FollowCellList | null = null;
  private _room: FollowRoom | null = null;
  private _busy = new Set<string>();
  private _pending = false;
}
