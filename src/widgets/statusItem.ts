/**
 * Status bar item: session code and connection state.
 */
import { Widget } from '@lumino/widgets';

import { SessionManager } from '../manager';

export class SyncStatusItem extends Widget {
  constructor(
    private _manager: SessionManager,
    private _onClick: () => void
  ) {
    super();
    this.addClass('jp-nbsync-status');
    this.node.addEventListener('click', () => this._onClick());
    _manager.changed.connect(() => this.render(), this);
    _manager.cellsChanged.connect(() => this.render(), this);
    this.render();
  }

  render(): void {
    const session = this._manager.current;
    if (!session || session.status === 'left') {
      this.node.textContent = '';
      this.node.dataset.connection = 'none';
      this.hide();
      return;
    }
    this.show();
    this.node.dataset.connection = session.connectionState;
    const role = session.role === 'teacher' ? 'Teaching' : 'Class';
    let text = `${role} ${session.code} · `;
    if (session.status === 'ended') {
      text += 'ended';
    } else if (session.connectionState === 'connected') {
      text += 'connected';
    } else {
      text += session.connectionState;
    }
    if (session.role === 'student' && session.status === 'active') {
      const n = session.tracker.pending().length;
      if (n) {
        text += ` · ${n} update${n === 1 ? '' : 's'}`;
      }
    }
    this.node.textContent = text;
    this.node.title = 'Class session: click to open the panel';
  }
}
