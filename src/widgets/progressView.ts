/**
 * The teacher's progress view: per-cell totals in the cell bar ("21/25 up to date · 2
 * conflicts · 1 help"), the marks, words and legend of the students × shared cells table (drawn
 * by progressTable.ts), and its CSV download. Names are text, never markup.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IActionContext } from '../actions/context';
import { cellLabel } from '../actions/help';
import { ProgressStatus } from '../api/messages';
import { ICellTotals, progressCsv } from '../logic/progress';
import { ProgressTotals } from '../logic/progressTotals';
import { TeacherSession } from '../model/teacherSession';
import { el } from './dom';

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

/** The cell bar's totals of a shared cell; else its open help requests; null for neither.
 * `totals` caches each cell's figures on the matrix object (one scan of the class per cell per
 * progress change, not per render). */
export function teacherCellInfo(
  ctx: IActionContext,
  session: TeacherSession,
  cellId: string,
  totals: ProgressTotals = new ProgressTotals()
): HTMLElement | null {
  const t = totals.get(session.progress, cellId);
  if (t && t.students > 0) {
    const node = el('span', 'jp-nbsync-totals', totalsText(ctx.trans, t));
    if (t.help || t.counts.conflict) {
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
export const MARKS: Record<ProgressStatus, string> = {
  up_to_date: '\u2713',
  behind: '\u2193',
  conflict: '\u2716',
  kept_mine: '\u270e',
  never_pulled: '\u2013'
};

export function legend(trans: TranslationBundle): HTMLElement {
  const node = el('p', 'jp-nbsync-help jp-nbsync-progress-legend');
  const statuses = Object.keys(MARKS) as ProgressStatus[];
  node.textContent =
    statuses.map(s => `${MARKS[s]} ${statusText(trans, s)}`).join(' \u00b7 ') +
    ` \u00b7 ? ${trans.__('asking for help')}`;
  return node;
}

/** "#3": the cell's position in the teacher's notebook. */
export function cellNumber(session: TeacherSession, cellId: string): string {
  const index = session.panel.content.widgets.findIndex(
    w => w.model.id === cellId
  );
  return index < 0 ? '?' : `#${index + 1}`;
}

export function downloadCsv(
  ctx: IActionContext,
  session: TeacherSession
): void {
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
