/**
 * The notebook toolbar item: Start/Join before a session; code, Pull all, End/Leave during it.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { pullAll } from '../actions/cells';
import { IActionContext } from '../actions/context';
import { endSession, joinSession, startSession } from '../actions/session';
import { StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { showCodeDialog } from './dialogs';
import { el, swapIfChanged } from './dom';

function button(
  label: string,
  cls: string,
  title: string,
  onClick: () => void
): HTMLButtonElement {
  const b = el(
    'button',
    `jp-ToolbarButtonComponent jp-Button jp-nbsync-tb ${cls}`,
    label
  );
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

export class SyncToolbarItem extends Widget {
  constructor(
    private _ctx: IActionContext,
    private _panel: NotebookPanel
  ) {
    super();
    this.addClass('jp-nbsync-toolbar');
    _ctx.manager.changed.connect(() => this.render(), this);
    _ctx.manager.cellsChanged.connect((_, args) => {
      if (args.panel === this._panel) {
        this.render();
      }
    }, this);
    this.disposed.connect(() => {
      Signal.disconnectReceiver(this);
    });
    this.render();
  }

  render(): void {
    const node = el('div', this.node.className);
    const session = this._ctx.manager.get(this._panel);
    if (!session || session.status === 'ended' || session.status === 'left') {
      node.append(...this._idleButtons());
    } else if (session instanceof TeacherSession) {
      node.append(...this._teacherButtons(session));
    } else {
      node.append(...this._studentButtons(session));
    }
    swapIfChanged(this.node, node);
  }

  private _idleButtons(): HTMLButtonElement[] {
    const { manager, trans } = this._ctx;
    const start = button(
      trans.__('Start session'),
      'jp-nbsync-start',
      trans.__('Start a class session from this notebook'),
      () => void startSession(this._ctx, this._panel)
    );
    return [
      ...(manager.mayTeach ? [start] : []),
      button(
        trans.__('Join session'),
        'jp-nbsync-join',
        trans.__('Join a class session with its code'),
        () => void joinSession(this._ctx, this._panel)
      )
    ];
  }

  private _teacherButtons(session: TeacherSession): HTMLButtonElement[] {
    const { trans } = this._ctx;
    return [
      button(
        trans.__('Session %1', session.code || '…'),
        'jp-nbsync-show-code',
        trans.__('Show the session code'),
        () => void showCodeDialog(trans, session.code, session.title)
      ),
      button(
        trans.__('End'),
        'jp-nbsync-end',
        trans.__('End the class session'),
        () => void endSession(this._ctx, this._panel)
      )
    ];
  }

  private _studentButtons(session: StudentSession): HTMLButtonElement[] {
    const { trans } = this._ctx;
    const n = session.tracker.pullable().length;
    const all = button(
      n ? trans.__('Pull all (%1)', n) : trans.__('Pull all'),
      'jp-nbsync-tb-pull-all',
      trans.__('Pull every cell with an update'),
      () => void pullAll(this._ctx, session)
    );
    all.disabled = n === 0;
    return [
      all,
      button(
        trans.__('Leave'),
        'jp-nbsync-leave',
        trans.__('Leave the class session'),
        () => void endSession(this._ctx, this._panel)
      )
    ];
  }
}
