/**
 * A side-by-side line diff as a DOM table: the student's text on the left, the teacher's on
 * the right.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import {
  diffLines,
  diffStats,
  ISideBySideRow,
  sideBySide
} from '../logic/lineDiff';
import { el } from './dom';

export function renderDiff(
  trans: TranslationBundle,
  mine: string,
  theirs: string,
  headers?: [string, string]
): HTMLElement {
  const lines = diffLines(mine, theirs);
  const stats = diffStats(lines);
  const wrap = el('div', 'jp-nbsync-diff');
  wrap.appendChild(
    el(
      'div',
      'jp-nbsync-diff-summary',
      stats.added === 0 && stats.removed === 0
        ? trans.__('No differences.')
        : headers
          ? trans.__(
              '%1 line(s) only in %3, %2 line(s) only in %4',
              stats.removed,
              stats.added,
              headers[0],
              headers[1]
            )
          : trans.__(
              "%1 line(s) only in mine, %2 line(s) only in teacher's",
              stats.removed,
              stats.added
            )
    )
  );
  const table = el('table');
  const head = table.createTHead().insertRow();
  for (const title of headers ?? [trans.__('Mine'), trans.__("Teacher's")]) {
    head.appendChild(el('th', '', title));
  }
  const body = table.createTBody();
  for (const row of sideBySide(lines)) {
    renderRow(body.insertRow(), row);
  }
  wrap.appendChild(table);
  return wrap;
}

function renderRow(tr: HTMLTableRowElement, row: ISideBySideRow): void {
  tr.className = `jp-nbsync-diff-${row.kind}`;
  for (const [side, text] of [
    ['left', row.left],
    ['right', row.right]
  ] as const) {
    const td = tr.insertCell();
    td.className =
      `jp-nbsync-diff-${side}` + (text === null ? ' jp-nbsync-diff-empty' : '');
    td.appendChild(el('pre', '', text ?? ''));
  }
}
