/**
 * The teacher's progress view: per-cell totals in the cell bar ("21/25 up to date · 2
 * conflicts · 1 help"), the students × shared cells table of the class panel, and its CSV
 * download. Names are text, never markup.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IActionContext } from '../actions/context';
import { cellLabel } from '../actions/help';
import { ProgressStatus } from '../api/messages';
import {
  cellTotals,
  ICellTotals,
  orderedStudents,
  progressCsv
} from '../logic/progress';
import { TeacherSession } from '../model/teacherSession';
import { el } from './dom';
import { button } from './sidePanel/common';

/** "21/25 up to date · 2 behind · 2 conflicts · 1 help". */
export function totalsText(trans: TranslationBundle, t: ICellTotals): string {
  const parts = [trans.__('%1/%2 up to date', t.counts.up_to_date, t.students)];
  const { behind, conflict, kept_mine, never_pulled } = t.counts;
  if (behind) {
    parts.push(trans._n('%1 behind', '%1 behind', behind));
  }
  if (conflict) {
    parts.push(trans._n('%1 conflict', '%1 conflicts', conflict));
  }
  if (kept_mine) {
    parts.push(trans._n('%1 kept their own', '%1 kept their own', kept_mine));
  }
  if (never_pulled) {
    parts.push(trans._n('%1 never pulled', '%1 never pulled', never_pulled));
  }
  if (t.help) {
    parts.push(trans._n('%1 help', '%1 help', t.help));
  }
  return parts.join(' \u00b7 ');
}

/** The cell bar's totals of a shared cell; else its open help requests; null for neither. */
export function teacherCellInfo(
  ctx: IActionContext,
  session: TeacherSession,
  cellId: string
): HTMLElement | null {
  const totals = cellTotals(session.progress, cellId);
  if (totals && totals.students > 0) {
    const node = el('span', 'jp-nbsync-totals', totalsText(ctx.trans, totals));
    if (totals.help || totals.counts.conflict) {
      node.classList.add('jp-mod-attention');
    }
    return node;
  }
  const n = session.helpQueue.countForCell(cellId);
  if (!n) {
    return null;
  }
  return el(
    'span',
    'jp-nbsync-help-count',
    ctx.trans._n('%1 help request', '%1 help requests', n)
  );
}

export function statusText(
  trans: TranslationBundle,
  status: ProgressStatus
): string {
  switch (status) {
    case 'up_to_date':
      return trans.__('up to date');
    case 'behind':
      return trans.__('behind');
    case 'conflict':
      return trans.__('conflict');
    case 'kept_mine':
      return trans.__('kept their own text');
    case 'never_pulled':
      return trans.__('never pulled');
    default:
      return status;
  }
}

/** A short mark per status, for the table (the words are in its title and the legend). */
const MARKS: Record<ProgressStatus, string> = {
  up_to_date: '\u2713',
  behind: '\u2193',
  conflict: '\u2716',
  kept_mine: '\u270e',
  never_pulled: '\u2013'
};

/** The class panel's progress table and "Download CSV". */
export function renderProgress(
  ctx: IActionContext,
  session: TeacherSession,
  node: HTMLElement
): void {
  const { trans } = ctx;
  const matrix = session.progress;
  node.appendChild(el('h3', 'jp-nbsync-progress-title', trans.__('Progress')));
  if (!matrix || !matrix.cells.length || !matrix.students.length) {
    node.appendChild(
      el(
        'p',
        'jp-nbsync-help',
        trans.__('Shows each student × shared cell once both exist.')
      )
    );
    return;
  }
  const wrap = el('div', 'jp-nbsync-progress-wrap');
  const table = el('table', 'jp-nbsync-progress');
  const head = table.createTHead().insertRow();
  head.appendChild(el('th', '', trans.__('Student')));
  matrix.cells.forEach(cellId => {
    const th = el('th', 'jp-nbsync-progress-cell', cellNumber(session, cellId));
    th.title = cellLabel(ctx, session, cellId);
    th.dataset.cellId = cellId;
    head.appendChild(th);
  });
  const body = table.createTBody();
  for (const student of orderedStudents(matrix)) {
    const row = body.insertRow();
    row.dataset.studentId = student.student_id;
    const name = el('th', 'jp-nbsync-progress-name', student.name);
    name.title = student.user
      ? trans.__('%1 (JupyterHub user %2)', student.name, student.user)
      : student.name;
    if (!student.online) {
      name.classList.add('jp-mod-offline');
    }
    row.appendChild(name);
    for (const cellId of matrix.cells) {
      const cell = student.cells[cellId];
      const status = cell?.status ?? 'never_pulled';
      const td = row.insertCell();
      td.className = `jp-nbsync-progress-${status}`;
      td.dataset.cellId = cellId;
      td.dataset.status = status;
      td.textContent = MARKS[status];
      let title = statusText(trans, status);
      if (cell?.help) {
        td.classList.add('jp-nbsync-progress-help');
        td.appendChild(el('span', 'jp-nbsync-progress-help-mark', '?'));
        title += ` \u00b7 ${trans.__('asking for help')}`;
      }
      td.title = title;
    }
  }
  wrap.appendChild(table);
  node.appendChild(wrap);
  node.appendChild(legend(trans));
  const actions = el('div', 'jp-nbsync-actions');
  actions.appendChild(
    button(trans.__('Download CSV'), 'jp-nbsync-progress-csv', () =>
      downloadCsv(ctx, session)
    )
  );
  node.appendChild(actions);
}

function legend(trans: TranslationBundle): HTMLElement {
  const node = el('p', 'jp-nbsync-help jp-nbsync-progress-legend');
  const statuses = Object.keys(MARKS) as ProgressStatus[];
  node.textContent =
    statuses.map(s => `${MARKS[s]} ${statusText(trans, s)}`).join(' \u00b7 ') +
    ` \u00b7 ? ${trans.__('asking for help')}`;
  return node;
}

/** "#3": the cell's position in the teacher's notebook. */
function cellNumber(session: TeacherSession, cellId: string): string {
  const index = session.panel.content.widgets.findIndex(
    w => w.model.id === cellId
  );
  return index < 0 ? '?' : `#${index + 1}`;
}

function downloadCsv(ctx: IActionContext, session: TeacherSession): void {
  const matrix = session.progress;
  if (!matrix) {
    return;
  }
  const names = new Map(
    matrix.cells.map(id => [id, cellLabel(ctx, session, id)])
  );
  const blob = new Blob([progressCsv(matrix, names)], {
    type: 'text/csv;charset=utf-8'
  });
  const url = URL.createObjectURL(blob);
  const link = el('a');
  link.href = url;
  link.download = `progress-${session.code}.csv`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
