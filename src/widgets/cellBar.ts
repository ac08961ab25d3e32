/**
 * A thin bar above each cell: the teacher's "Shared" toggle and Push button, or the student's
 * update badge with Preview and Pull.
 */
import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { PanelLayout, Widget } from '@lumino/widgets';

import { previewCell, pullCell, pushCell, toggleShared } from '../actions';
import { SessionManager } from '../manager';
import { StudentSession, TeacherSession } from '../session';
import { swapIfChanged } from './dom';

const BAR_CLASS = 'jp-nbsync-cellbar';

class CellBar extends Widget {
  constructor(
    private _manager: SessionManager,
    private _panel: NotebookPanel,
    readonly cell: Cell
  ) {
    super();
    this.addClass(BAR_CLASS);
    this.render();
  }

  get cellId(): string {
    return this.cell.model.id;
  }

  render(): void {
    const session = this._manager.get(this._panel);
    this.node.dataset.cellId = this.cellId;
    const fresh = document.createElement('div');
    fresh.className = this.node.className
      .split(' ')
      .filter(c => !c.startsWith('jp-nbsync-') && c !== 'jp-mod-hidden')
      .concat(BAR_CLASS)
      .join(' ');
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
    const cellId = this.cellId;
    const state = session.cell(cellId);
    const shared = !!state?.shared;
    node.classList.add('jp-nbsync-teacher');
    const label = document.createElement('label');
    label.className = 'jp-nbsync-share';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = shared;
    box.disabled = !!state?.pushing;
    box.addEventListener('change', () => void toggleShared(session, cellId, box.checked));
    label.append(box, document.createTextNode(' Shared'));
    const push = document.createElement('button');
    push.className = 'jp-nbsync-push jp-nbsync-button';
    push.textContent = 'Push';
    push.title = 'Send this cell\u2019s current text to the students';
    push.disabled = !!state?.pushing;
    push.addEventListener('click', () => void pushCell(session, cellId));
    const info = document.createElement('span');
    info.className = 'jp-nbsync-info';
    if (!state || state.pushedSeq === 0) {
      info.textContent = 'not shared';
    } else if (!shared) {
      info.textContent = 'locked: students cannot pull';
      node.classList.add('jp-nbsync-locked');
    } else if (session.isDirty(cellId)) {
      info.textContent = 'changed since last push';
      node.classList.add('jp-nbsync-dirty');
    } else {
      info.textContent = `pushed (#${state.pushedSeq})`;
      node.classList.add('jp-nbsync-pushed');
    }
    node.append(label, push, info);
  }

  private _renderStudent(session: StudentSession, node: HTMLElement): void {
    const cellId = this.cellId;
    const state = session.cellState(cellId);
    if (!state || state.removed) {
      node.classList.add('jp-mod-hidden');
      return;
    }
    node.classList.add('jp-nbsync-student');
    if (!state.syncAllowed) {
      const locked = document.createElement('span');
      locked.className = 'jp-nbsync-locked-badge';
      locked.textContent = 'Locked by teacher';
      node.appendChild(locked);
      return;
    }
    if (!session.hasUpdate(cellId)) {
      const ok = document.createElement('span');
      ok.className = 'jp-nbsync-info jp-nbsync-uptodate';
      ok.textContent = state.pulledSeq > 0 ? 'up to date with the teacher' : '';
      node.appendChild(ok);
      return;
    }
    const badge = document.createElement('span');
    badge.className = 'jp-nbsync-badge';
    badge.textContent = 'Update from teacher';
    const preview = document.createElement('button');
    preview.className = 'jp-nbsync-preview-button jp-nbsync-button';
    preview.textContent = 'Preview';
    preview.addEventListener('click', () => void previewCell(session, cellId));
    const pull = document.createElement('button');
    pull.className = 'jp-nbsync-pull jp-nbsync-button';
    pull.textContent = 'Pull';
    pull.addEventListener('click', () => void pullCell(session, cellId));
    node.append(badge, preview, pull);
  }
}

/** Keeps one bar on every cell of a notebook panel. */
export class CellBarTracker {
  constructor(
    private _manager: SessionManager,
    private _panel: NotebookPanel
  ) {
    const notebook = _panel.content;
    notebook.model?.cells.changed.connect(() => this._scan(), this);
    notebook.modelChanged.connect(() => this._scan(), this);
    _manager.cellsChanged.connect((_, args) => {
      if (args.panel === this._panel) {
        this._refresh(new Set(args.cellIds));
      }
    }, this);
    _manager.changed.connect(() => this._refresh(null), this);
    _panel.disposed.connect(() => {
      Signal.disconnectReceiver(this);
      this._bars.clear();
    });
    this._scan();
  }

  private _scan(): void {
    for (const cell of this._panel.content.widgets) {
      if (this._bars.has(cell)) {
        continue;
      }
      const bar = new CellBar(this._manager, this._panel, cell);
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

  private _refresh(only: Set<string> | null): void {
    if (this._panel.isDisposed) {
      return;
    }
    this._scan();
    for (const bar of this._bars.values()) {
      if (!only || only.has(bar.cellId)) {
        bar.render();
      }
    }
  }

  private _bars = new Map<Cell, CellBar>();
}
