/**
 * The notebook toolbar item: Start/Join before a session; code, Pull all, End/Leave during it.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { endSession, joinSession, pullAll, startSession } from '../actions';
import { SessionManager } from '../manager';
import { StudentSession, TeacherSession } from '../session';
import { showCodeDialog } from './dialogs';
import { swapIfChanged } from './dom';

export class SyncToolbarItem extends Widget {
  constructor(
    private _manager: SessionManager,
    private _panel: NotebookPanel
  ) {
    super();
    this.addClass('jp-nbsync-toolbar');
    _manager.changed.connect(() => this.render(), this);
    _manager.cellsChanged.connect((_, args) => {
      if (args.panel === this._panel) {
        this.render();
      }
    }, this);
    this.disposed.connect(() => {
      Signal.disconnectReceiver(this);
    });
    this.render();
  }

  private _button(label: string, cls: string, title: string, onClick: () => void): HTMLButtonElement {
    const b = document.createElement('button');
    b.className = `jp-ToolbarButtonComponent jp-Button jp-nbsync-tb ${cls}`;
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', onClick);
    return b;
  }

  render(): void {
    const node = document.createElement('div');
    node.className = this.node.className;
    this._fill(node);
    swapIfChanged(this.node, node);
  }

  private _fill(node: HTMLElement): void {
    const session = this._manager.get(this._panel);
    if (!session || session.status === 'ended' || session.status === 'left') {
      node.append(
        this._button('Start session', 'jp-nbsync-start', 'Start a class session from this notebook', () =>
          void startSession(this._manager, this._panel)
        ),
        this._button('Join session', 'jp-nbsync-join', 'Join a class session with its code', () =>
          void joinSession(this._manager, this._panel)
        )
      );
      return;
    }
    if (session instanceof TeacherSession) {
      node.append(
        this._button(`Session ${session.code || '…'}`, 'jp-nbsync-show-code', 'Show the session code', () =>
          void showCodeDialog(session.code, session.title)
        ),
        this._button('End', 'jp-nbsync-end', 'End the class session', () => void endSession(this._manager, this._panel))
      );
      return;
    }
    const student = session as StudentSession;
    const n = student.tracker.pullable().length;
    const all = this._button(`Pull all${n ? ` (${n})` : ''}`, 'jp-nbsync-tb-pull-all', 'Pull every cell with an update', () =>
      void pullAll(student)
    );
    all.disabled = n === 0;
    node.append(
      all,
      this._button('Leave', 'jp-nbsync-leave', 'Leave the class session', () => void endSession(this._manager, this._panel))
    );
  }
}
