/**
 * Status bar item: session code and connection state.
 */
import { Widget } from '@lumino/widgets';

import { IActionContext } from '../actions/context';
import { NotebookSession } from '../tokens';
import { connectionText } from './labels';

export class SyncStatusItem extends Widget {
  constructor(
    private _ctx: IActionContext,
    private _onClick: () => void
  ) {
    super();
    this.addClass('jp-nbsync-status');
    this.node.addEventListener('click', () => this._onClick());
    _ctx.manager.changed.connect(() => this.render(), this);
    _ctx.manager.cellsChanged.connect(() => this.render(), this);
    this.render();
  }

  render(): void {
    const session = this._ctx.manager.current;
    if (!session || session.status === 'left') {
      this.node.textContent = '';
      this.node.dataset.connection = 'none';
      this.hide();
      return;
    }
    this.show();
    this.node.dataset.connection = session.connectionState;
    this.node.textContent = this._text(session);
    this.node.title = this._ctx.trans.__(
      'Class session: click to open the panel'
    );
  }

  /** "Teaching K7QM2X · connected", "Class K7QM2X · connected · 2 updates". */
  private _text(session: NotebookSession): string {
    const { trans } = this._ctx;
    const state =
      session.status === 'ended'
        ? trans.__('ended')
        : connectionText(trans, session.connectionState);
    const text =
      session.role === 'teacher'
        ? trans.__('Teaching %1 · %2', session.code, state)
        : trans.__('Class %1 · %2', session.code, state);
    if (session.role === 'student' && session.status === 'active') {
      const n = session.tracker.pending().length;
      if (n) {
        return `${text} · ${trans._n('%1 update', '%1 updates', n)}`;
      }
    }
    return text;
  }
}
