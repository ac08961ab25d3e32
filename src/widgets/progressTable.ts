/**
 * The class panel's progress table (students × shared cells), its legend and "Download CSV".
 *
 * At class scale (500 students × 50 cells: 25,000 table cells) the table is windowed: it
 * scrolls in its own box, and only the rows in view (plus a margin) are in the DOM, between two
 * spacer rows of the height of those left out. A progress change patches the rows in view whose
 * content changed, cell by cell; scrolling renders the newly visible rows. The box's scroll
 * position and sizes are read only where the layout is clean (a scroll event, a
 * ResizeObserver callback), never in a render, which would force a layout of the whole panel.
 * Names are text, never markup.
 */
import { IActionContext } from '../actions/context';
import { cellLabel } from '../actions/help';
import {
  IProgressMatrix,
  IProgressStudent,
  ProgressStatus
} from '../api/messages';
import {
  cellKey,
  rowSignature,
  StudentOrder,
  visibleRows
} from '../logic/progressTotals';
import { TeacherSession } from '../model/teacherSession';
import { el, setText } from './dom';
import {
  cellNumber,
  downloadCsv,
  legend,
  MARKS,
  statusText
} from './progressView';
import { button } from './sidePanel/common';

/** Rows rendered beyond those in view, above and below. */
const OVERSCAN = 10;
/** Rows rendered before the table is laid out (its box has no height yet). */
const FIRST_ROWS = 40;

interface IRow {
  tr: HTMLTableRowElement;
  name: HTMLTableCellElement;
  cells: HTMLTableCellElement[];
  keys: string[];
  sig: string;
}

export class ProgressTableView {
  readonly node = el('div', 'jp-nbsync-progress-section');

  constructor(
    private _ctx: IActionContext,
    private _session: TeacherSession,
    private _schedule: () => void
  ) {
    const { trans } = _ctx;
    this._empty = el(
      'p',
      'jp-nbsync-help',
      trans.__('Shows each student × shared cell once both exist.')
    );
    this._wrap = el('div', 'jp-nbsync-progress-wrap');
    this._table = el('table', 'jp-nbsync-progress');
    this._head = this._table.createTHead().insertRow();
    this._body = this._table.createTBody();
    this._top = spacer();
    this._bottom = spacer();
    this._wrap.appendChild(this._table);
    this._wrap.addEventListener('scroll', () => this._measure(), {
      passive: true
    });
    this._resize = new ResizeObserver(() => this._measure());
    this._resize.observe(this._wrap);
    this._resize.observe(this._table);
    const actions = el('div', 'jp-nbsync-actions');
    actions.appendChild(
      button(trans.__('Download CSV'), 'jp-nbsync-progress-csv', () =>
        downloadCsv(_ctx, _session)
      )
    );
    this._full = [this._wrap, legend(trans), actions];
    this._title = el('h3', 'jp-nbsync-progress-title', trans.__('Progress'));
    this.node.append(this._title, this._empty);
  }

  dispose(): void {
    this._resize.disconnect();
  }

  /** The box's scroll position and height, and a row's height: when changed, render again. */
  private _measure(): void {
    const first = this._rows.values().next().value as IRow | undefined;
    const rowHeight = first?.tr.isConnected
      ? first.tr.getBoundingClientRect().height
      : this._rowHeight;
    const top = this._wrap.scrollTop;
    const height = this._wrap.clientHeight;
    if (
      top !== this._scrollTop ||
      height !== this._viewHeight ||
      rowHeight !== this._rowHeight
    ) {
      this._scrollTop = top;
      this._viewHeight = height;
      this._rowHeight = rowHeight;
      this._schedule();
    }
  }

  /** Draw what changed: the matrix, the cells' numbers and labels, the rows in view. */
  update(): void {
    const matrix = this._session.progress;
    if (!matrix || !matrix.cells.length || !matrix.students.length) {
      if (this._shown) {
        this.node.replaceChildren(this._title, this._empty);
        this._shown = false;
        this._rows.clear();
        this._body.replaceChildren();
        this._cells = [];
        this._headSig = '';
      }
      return;
    }
    if (!this._shown) {
      this.node.replaceChildren(this._title, ...this._full);
      this._shown = true;
    }
    this._header(matrix);
    this._table.dataset.students = String(matrix.students.length);
    this._table.dataset.cells = String(matrix.cells.length);
    this._rowsInView(matrix);
  }

  /** The column heads ("#3", with the cell's label as title), redone when they changed. */
  private _header(matrix: IProgressMatrix): void {
    const { trans } = this._ctx;
    const heads = matrix.cells.map(cellId => ({
      cellId,
      text: cellNumber(this._session, cellId),
      title: cellLabel(this._ctx, this._session, cellId)
    }));
    const sig = JSON.stringify(heads);
    if (sig === this._headSig) {
      return;
    }
    this._headSig = sig;
    const ths = [el('th', 'jp-nbsync-progress-corner', trans.__('Student'))];
    for (const { cellId, text, title } of heads) {
      const th = el('th', 'jp-nbsync-progress-cell', text);
      th.title = title;
      th.dataset.cellId = cellId;
      ths.push(th);
    }
    this._head.replaceChildren(...ths);
    if (matrix.cells.join('\u0000') !== this._cells.join('\u0000')) {
      // other columns: every row is drawn anew
      this._cells = matrix.cells.slice();
      for (const tr of [this._top, this._bottom]) {
        (tr.firstChild as HTMLTableCellElement).colSpan =
          this._cells.length + 1;
      }
      this._rows.clear();
      this._body.replaceChildren();
    }
  }

  private _rowsInView(matrix: IProgressMatrix): void {
    const students = this._order.ordered(matrix);
    const range = visibleRows(
      students.length,
      this._scrollTop,
      this._viewHeight,
      this._rowHeight,
      OVERSCAN,
      FIRST_ROWS
    );
    const wanted = students.slice(range.start, range.end);
    const ids = new Set(wanted.map(s => s.student_id));
    for (const [id, row] of this._rows) {
      if (!ids.has(id)) {
        row.tr.remove();
        this._rows.delete(id);
      }
    }
    const trs: HTMLTableRowElement[] = [];
    for (const student of wanted) {
      let row = this._rows.get(student.student_id);
      if (!row) {
        row = this._newRow(student);
        this._rows.set(student.student_id, row);
      } else {
        this._patchRow(row, student);
      }
      trs.push(row.tr);
    }
    // the spacers stand for the rows left out (the row height is measured once laid out)
    const h = this._rowHeight || 0;
    setHeight(this._top, range.start * h);
    setHeight(this._bottom, (students.length - range.end) * h);
    const children: HTMLTableRowElement[] = [];
    if (range.start > 0) {
      children.push(this._top);
    }
    children.push(...trs);
    if (range.end < students.length) {
      children.push(this._bottom);
    }
    const current = this._body.children;
    const same =
      current.length === children.length &&
      children.every((c, i) => current[i] === c);
    if (!same) {
      this._body.replaceChildren(...children);
    }
  }

  private _newRow(student: IProgressStudent): IRow {
    const tr = el('tr');
    tr.dataset.studentId = student.student_id;
    const name = el('th', 'jp-nbsync-progress-name');
    tr.appendChild(name);
    const row: IRow = { tr, name, cells: [], keys: [], sig: '' };
    for (const cellId of this._cells) {
      const td = tr.insertCell();
      td.dataset.cellId = cellId;
      row.cells.push(td);
      row.keys.push('');
    }
    this._patchRow(row, student);
    return row;
  }

  /** Only what differs: the name, and each cell whose status or help changed. */
  private _patchRow(row: IRow, student: IProgressStudent): void {
    const sig = rowSignature(student, this._cells);
    if (sig === row.sig) {
      return;
    }
    row.sig = sig;
    const { trans } = this._ctx;
    setText(row.name, student.name);
    const title = student.user
      ? trans.__('%1 (JupyterHub user %2)', student.name, student.user)
      : student.name;
    if (row.name.title !== title) {
      row.name.title = title;
    }
    row.name.classList.toggle('jp-mod-offline', !student.online);
    this._cells.forEach((cellId, j) => {
      const k = cellKey(student, cellId);
      if (row.keys[j] !== k) {
        row.keys[j] = k;
        const cell = student.cells[cellId];
        this._drawCell(
          row.cells[j],
          cell?.status ?? 'never_pulled',
          !!cell?.help
        );
      }
    });
  }

  private _drawCell(
    td: HTMLTableCellElement,
    status: ProgressStatus,
    help: boolean
  ): void {
    const { trans } = this._ctx;
    td.className = `jp-nbsync-progress-${status}`;
    td.dataset.status = status;
    td.textContent = MARKS[status];
    let title = statusText(trans, status);
    if (help) {
      td.classList.add('jp-nbsync-progress-help');
      td.appendChild(el('span', 'jp-nbsync-progress-help-mark', '?'));
      title += ` \u00b7 ${trans.__('asking for help')}`;
    }
    td.title = title;
  }

  private _title: HTMLElement;
  private _empty: HTMLElement;
  private _wrap: HTMLDivElement;
  private _table: HTMLTableElement;
  private _head: HTMLTableRowElement;
  private _body: HTMLTableSectionElement;
  private _top: HTMLTableRowElement;
  private _bottom: HTMLTableRowElement;
  private _full: HTMLElement[];
  private _shown = false;
  private _headSig = '';
  private _cells: string[] = [];
  private _rows = new Map<string, IRow>();
  private _order = new StudentOrder();
  private _rowHeight = 0;
  private _scrollTop = 0;
  private _viewHeight = 0;
  private _resize: ResizeObserver;
}

function spacer(): HTMLTableRowElement {
  const tr = el('tr', 'jp-nbsync-progress-spacer');
  tr.setAttribute('aria-hidden', 'true');
  tr.insertCell();
  return tr;
}

function setHeight(tr: HTMLTableRowElement, px: number): void {
  const value = `${px}px`;
  if (tr.style.height !== value) {
    tr.style.height = value;
  }
}
