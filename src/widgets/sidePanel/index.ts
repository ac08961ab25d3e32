/**
 * The class session side panel: the session state, then the teacher's or the student's view;
 * without a session, how to start or join one.
 *
 * Renders are coalesced into one per animation frame. The head (the state, a student's view,
 * how to start) is small and redrawn whole when its HTML changed; a teacher's view is made of
 * sections that each redraw only what of their own data changed (see TeacherView): a class's
 * help requests and progress arrive many times a second.
 */
import { NotebookPanel } from '@jupyterlab/notebook';

import { IActionContext } from '../../actions/context';
import { joinSession, startSession } from '../../actions/session';
import { TeacherSession } from '../../model/teacherSession';
import { NotebookSession } from '../../tokens';
import { el, RenderedPanel, swapIfChanged } from '../dom';
import { classroomIcon } from '../icons';
import { connectionText, sessionStatusText } from '../labels';
import { button } from './common';
import { renderStudent } from './studentView';
import { TeacherView } from './teacherView';

export class SyncSidePanel extends RenderedPanel {
  constructor(
    private _ctx: IActionContext,
    private _openFollow?: () => void
  ) {
    super();
    this.id = 'notebook-sync-panel';
    this.title.icon = classroomIcon;
    this.title.caption = _ctx.trans.__('Class session');
    this.addClass('jp-nbsync-panel');
    this.node.append(this._main, this._teacherHost);
    _ctx.manager.changed.connect(() => this.scheduleRender(), this);
    _ctx.manager.cellsChanged.connect(() => this.scheduleRender(), this);
    // How long each help request has waited moves on by itself.
    this._clock = setInterval(() => this.scheduleRender(), 30_000);
    this.render();
  }

  dispose(): void {
    clearInterval(this._clock);
    this._teacher?.dispose();
    this._teacher = null;
    super.dispose();
  }

  render(): void {
    const fresh = el('div', this._main.className);
    this.fill(fresh);
    swapIfChanged(this._main, fresh);
    const session = this._shownTeacher();
    if (this._teacher?.session !== (session ?? undefined)) {
      this._teacher?.dispose();
      this._teacher = session
        ? new TeacherView(this._ctx, session, () => this.scheduleRender())
        : null;
      this._teacherHost.replaceChildren(
        ...(this._teacher ? [this._teacher.node] : [])
      );
    }
    this._teacher?.update();
    this._renderTitle();
  }

  /** The teacher's session whose view the panel shows, if any. */
  private _shownTeacher(): TeacherSession | null {
    const { manager } = this._ctx;
    const panel = manager.currentPanel;
    const session = panel ? manager.get(panel) : null;
    return session instanceof TeacherSession &&
      session.status !== 'ended' &&
      session.status !== 'left'
      ? session
      : null;
  }

  /** The tab shows how many help requests wait (the teacher's current session). */
  private _renderTitle(): void {
    const { manager, trans } = this._ctx;
    const session = manager.current;
    const n =
      session instanceof TeacherSession && session.status === 'active'
        ? session.helpQueue.size
        : 0;
    const label = n ? String(n) : '';
    if (this.title.label !== label) {
      this.title.label = label;
      this.title.caption = n
        ? trans._n(
            'Class session: %1 help request',
            'Class session: %1 help requests',
            n
          )
        : trans.__('Class session');
      this.title.className = n ? 'jp-nbsync-tab-help' : '';
    }
  }

  protected fill(node: HTMLElement): void {
    const { manager, trans } = this._ctx;
    node.appendChild(
      el('h2', 'jp-nbsync-panel-title', trans.__('Class session'))
    );
    const panel = manager.currentPanel;
    if (!panel) {
      node.appendChild(
        el(
          'p',
          'jp-nbsync-help',
          trans.__('Open a notebook to start or join a class session.')
        )
      );
      return;
    }
    node.appendChild(el('p', 'jp-nbsync-notebook', panel.context.path));
    const session = manager.get(panel);
    if (!session || session.status === 'ended' || session.status === 'left') {
      this._renderIdle(panel, session, node);
      return;
    }
    this._renderState(session, node);
    if (!(session instanceof TeacherSession)) {
      // a teacher's view is drawn by its sections (render)
      renderStudent(this._ctx, session, node, this._openFollow);
    }
  }

  /** No session, or one that is over: how to start or join one. */
  private _renderIdle(
    panel: NotebookPanel,
    session: NotebookSession | null,
    node: HTMLElement
  ): void {
    const { trans } = this._ctx;
    if (session?.status === 'ended') {
      node.appendChild(
        el(
          'p',
          'jp-nbsync-state jp-nbsync-ended',
          trans.__('The session has ended.')
        )
      );
    }
    const { mayTeach, teaching } = this._ctx.manager;
    node.appendChild(
      el(
        'p',
        'jp-nbsync-help',
        mayTeach
          ? trans.__(
              'Teachers start a session from this notebook; students join one with its code.'
            )
          : trans.__('Join a class session with the code your teacher gives.')
      )
    );
    if (!mayTeach && teaching) {
      // Why there is no "Start session": the server's policy, and who it thinks you are.
      const { you } = teaching;
      const who =
        you.named === false
          ? trans.__(
              'You are signed in with the server token, as no named user.'
            )
          : trans.__(
              'You are %1 (groups: %2).',
              you.user,
              you.groups.join(', ') || trans.__('none')
            );
      node.appendChild(
        el(
          'p',
          'jp-nbsync-help jp-nbsync-policy',
          trans.__('Starting sessions is for teachers: %1.', teaching.policy) +
            ' ' +
            who
        )
      );
    }
    const actions = el('div', 'jp-nbsync-actions');
    if (mayTeach) {
      actions.append(
        button(
          trans.__('Start session'),
          'jp-nbsync-panel-start',
          () => void startSession(this._ctx, panel),
          true
        )
      );
    }
    actions.append(
      button(
        trans.__('Join session'),
        'jp-nbsync-panel-join',
        () => void joinSession(this._ctx, panel),
        !mayTeach
      )
    );
    node.appendChild(actions);
  }

  /** 'Teaching "Title" · active · connected · ydoc mode', and the last error. */
  private _renderState(session: NotebookSession, node: HTMLElement): void {
    const { trans } = this._ctx;
    const name = session.title || session.code;
    const status = sessionStatusText(trans, session.status);
    const connection = connectionText(trans, session.connectionState);
    let text =
      session.role === 'teacher'
        ? trans.__('Teaching "%1" · %2 · %3', name, status, connection)
        : trans.__('Joined "%1" · %2 · %3', name, status, connection);
    if (session.mode) {
      text += ` · ${trans.__('%1 mode', session.mode)}`;
    }
    const state = el('p', 'jp-nbsync-state', text);
    state.dataset.connection = session.connectionState;
    node.appendChild(state);
    if (session.otherTabWarning) {
      node.appendChild(
        el(
          'p',
          'jp-nbsync-error jp-nbsync-other-tab',
          trans.__(session.otherTabWarning)
        )
      );
    }
    if (session.lastError) {
      node.appendChild(el('p', 'jp-nbsync-error', session.lastError));
    }
  }

  private _clock: ReturnType<typeof setInterval>;
  private _main = el('div', 'jp-nbsync-panel-main');
  private _teacherHost = el('div', 'jp-nbsync-panel-sections');
  private _teacher: TeacherView | null = null;
}
