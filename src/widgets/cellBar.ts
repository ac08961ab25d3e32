/**
 * A thin bar above each cell: the teacher's "Shared" toggle and Push button, or the student's
 * update badge with Preview and Pull.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { PanelLayout, Widget } from '@lumino/widgets';

import {
  previewCell,
  pullCell,
  pushCell,
  toggleShared,
  toggleShareOutputs
} from '../actions/cells';
import { IActionContext } from '../actions/context';
import { ProgressTotals } from '../logic/progressTotals';
import { ICellState } from '../logic/updates';
import { StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { NotebookSession } from '../tokens';
import { el, swapIfChanged } from './dom';
import { renderStudentHelp, renderSuggestion } from './helpBar';
import { teacherCellInfo } from './progressView';

const BAR_CLASS = 'jp-nbsync-cellbar';

class CellBar extends Widget {
  constructor(
    private _ctx: IActionContext,
    private _panel: NotebookPanel,
    readonly cell: Cell,
    private _totals: ProgressTotals
  ) {
    super();
    this.addClass(BAR_CLASS);
    this.render();
  }

  get cellId(): string {
    return this.cell.model.id;
  }

  render(): void {
    const session = this._ctx.manager.get(this._panel);
    this.node.dataset.cellId = this.cellId;
    const fresh = el(
      'div',
      this.node.className
        .split(' ')
        .filter(c => !c.startsWith('jp-nbsync-') && c !== 'jp-mod-hidden')
        .concat(BAR_CLASS)
        .join(' ')
    );
    if (!session || session.status !== 'active') {
      fresh.classList.add('jp-mod-hidden');
    } else if (session instanceof TeacherSession) {
      this._renderTeacher(session, fresh);
    } else {
      this._renderStudent(session, fresh);
    }
    swapIfChanged(this.node, fresh);
  }

  private _renderTeacher(session: TeacherSession, node: HTMLElement): void {
    const { trans } = this._ctx;
    const cellId = this.cellId;
    const state = session.cell(cellId);
    const shared = !!state?.shared;
    node.classList.add('jp-nbsync-teacher');
    const label = el('label', 'jp-nbsync-share');
    const box = el('input');
    box.type = 'checkbox';
    box.checked = shared;
    box.disabled = !!state?.pushing;
    box.addEventListener(
      'change',
      () => void toggleShared(this._ctx, session, cellId, box.checked)
    );
    label.append(box, document.createTextNode(` ${trans.__('Shared')}`));
    const push = el(
      'button',
      'jp-nbsync-push jp-nbsync-button',
      trans.__('Push')
    );
    push.title = trans.__('Send this cell\u2019s current text to the students');
    push.disabled = !!state?.pushing;
    push.addEventListener(
      'click',
      () => void pushCell(this._ctx, session, cellId)
    );
    const info = el('span', 'jp-nbsync-info');
    if (!state || state.pushedSeq === 0) {
      info.textContent = trans.__('not shared');
    } else if (!shared) {
      info.textContent = trans.__('locked: students cannot pull');
      node.classList.add('jp-nbsync-locked');
    } else if (session.isDirty(cellId)) {
      info.textContent = trans.__('changed since last push');
      node.classList.add('jp-nbsync-dirty');
    } else {
      info.textContent = trans.__('pushed (#%1)', state.pushedSeq);
      node.classList.add('jp-nbsync-pushed');
    }
    node.append(label);
    if (this.cell.model.type === 'code') {
      node.appendChild(this._outputsToggle(session, !!state?.pushing));
    }
    node.append(push, info);
    const help = teacherCellInfo(this._ctx, session, cellId, this._totals);
    if (help) {
      node.appendChild(help);
    }
  }

  /** The teacher's "Share outputs" of a code cell (the settings' default until changed). */
  private _outputsToggle(session: TeacherSession, busy: boolean): HTMLElement {
    const { trans } = this._ctx;
    const cellId = this.cellId;
    const label = el('label', 'jp-nbsync-share-outputs');
    label.title = trans.__(
      'Send this cell\u2019s outputs with it (never while it is locked)'
    );
    const box = el('input');
    box.type = 'checkbox';
    box.checked = session.sharesOutputs(cellId);
    if (box.checked) {
      box.setAttribute('checked', ''); // the bar is redrawn when its HTML changes
    }
    box.disabled = busy;
    box.addEventListener(
      'change',
      () => void toggleShareOutputs(this._ctx, session, cellId, box.checked)
    );
    label.append(box, document.createTextNode(` ${trans.__('Share outputs')}`));
    return label;
  }

  private _renderStudent(session: StudentSession, node: HTMLElement): void {
    const cellId = this.cellId;
    const state = session.cellState(cellId);
    if (!state || state.removed) {
      node.classList.add('jp-mod-hidden');
      return;
    }
    node.classList.add('jp-nbsync-student');
    this._renderUpdate(session, state, node);
    renderSuggestion(this._ctx, session, cellId, node);
    renderStudentHelp(this._ctx, session, cellId, node);
  }

  /** The shared cell's state: locked, up to date, or an update with Preview and Pull. */
  private _renderUpdate(
    session: StudentSession,
    state: ICellState,
    node: HTMLElement
  ): void {
    const { trans } = this._ctx;
    const cellId = this.cellId;
    if (!state.syncAllowed) {
      node.appendChild(
        el('span', 'jp-nbsync-locked-badge', trans.__('Locked by teacher'))
      );
      return;
    }
    if (!session.hasUpdate(cellId)) {
      const text =
        state.pulledSeq > 0 ? trans.__('up to date with the teacher') : '';
      node.appendChild(el('span', 'jp-nbsync-info jp-nbsync-uptodate', text));
      return;
    }
    const preview = el(
      'button',
      'jp-nbsync-preview-button jp-nbsync-button',
      trans.__('Preview')
    );
    preview.addEventListener(
      'click',
      () => void previewCell(this._ctx, session, cellId)
    );
    const pull = el(
      'button',
      'jp-nbsync-pull jp-nbsync-button',
      trans.__('Pull')
    );
    pull.addEventListener(
      'click',
      () => void pullCell(this._ctx, session, cellId)
    );
    node.append(
      el('span', 'jp-nbsync-badge', trans.__('Update from teacher')),
      preview,
      pull
    );
  }
}

/**
 * Keeps one bar on every cell of a notebook panel. Changes are coalesced into one render per
 * animation frame, of the cells that changed only: a class's help requests and progress
 * updates arrive many times a second, each naming its cells. A teacher's bars are all redrawn
 * only when the session itself (which one, its status) changed; a student's on any change.
 */
export class CellBarTracker {
  constructor(
    private _ctx: IActionContext,
    private _panel: NotebookPanel
  ) {
    const notebook = _panel.content;
    const manager = _ctx.manager;
    notebook.model?.cells.changed.connect(() => this._scan(), this);
    notebook.modelChanged.connect(() => this._scan(), this);
    manager.cellsChanged.connect((_, args) => {
      if (args.panel === this._panel) {
        this._schedule(args.cellIds);
      }
    }, this);
    manager.changed.connect(() => {
      const session = manager.get(this._panel);
      if (
        !(session instanceof TeacherSession) ||
        session !== this._session ||
        session.status !== this._status
      ) {
        this._schedule(null);
      }
    }, this);
    _panel.disposed.connect(() => {
      Signal.disconnectReceiver(this);
      this._bars.clear();
      if (this._frame !== null) {
        cancelAnimationFrame(this._frame);
        this._frame = null;
      }
    });
    this._scan();
  }

  private _scan(): void {
    for (const cell of this._panel.content.widgets) {
      if (this._bars.has(cell)) {
        continue;
      }
      const bar = new CellBar(this._ctx, this._panel, cell, this._totals);
      this._bars.set(cell, bar);
      cell.disposed.connect(() => this._bars.delete(cell));
      void cell.ready.then(() => {
        const layout = cell.layout as PanelLayout | null;
        if (!layout || cell.isDisposed || bar.isDisposed) {
          return;
        }
        // Right after the cell header, above the input.
        layout.insertWidget(Math.min(1, layout.widgets.length), bar);
        bar.render();
      });
    }
  }

  /** These cells' bars (null: every bar) at the next animation frame. */
  private _schedule(cellIds: readonly string[] | null): void {
    if (this._panel.isDisposed) {
      return;
    }
    if (cellIds === null) {
      this._all = true;
    } else if (!this._all) {
      cellIds.forEach(id => this._pending.add(id));
    }
    if (this._frame === null) {
      this._frame = requestAnimationFrame(() => {
        this._frame = null;
        this._refresh();
      });
    }
  }

  private _refresh(): void {
    const all = this._all;
    const only = this._pending;
    this._all = false;
    this._pending = new Set();
    if (this._panel.isDisposed) {
      return;
    }
    if (all) {
      const session = this._ctx.manager.get(this._panel);
      this._session = session;
      this._status = session?.status ?? '';
    }
    this._scan();
    for (const bar of this._bars.values()) {
      if (all || only.has(bar.cellId)) {
        bar.render();
      }
    }
  }

  private _bars = new Map<Cell, CellBar>();
  private _totals = new ProgressTotals();
  private _frame: number | null = null;
  private _all = false;
  private _pending = new Set<string>();
  /** The session and status the bars were last all drawn for. */
  private _session: NotebookSession | null = null;
  private _status = '';
}
