/**
 * A side-by-side line diff as a DOM table: the student's text on the left, the teacher's on
 * the right.
 */
import { diffLines, diffStats, sideBySide } from '../logic/lineDiff';

export function renderDiff(left: string, right: string, leftTitle: string, rightTitle: string): HTMLElement {
  const lines = diffLines(left, right);
  const rows = sideBySide(lines);
  const stats = diffStats(lines);
  const wrap = document.createElement('div');
  wrap.className = 'jp-nbsync-diff';
  const summary = document.createElement('div');
  summary.className = 'jp-nbsync-diff-summary';
  summary.textContent =
    stats.added === 0 && stats.removed === 0
      ? 'No differences.'
      : `${stats.removed} line(s) only in ${leftTitle.toLowerCase()}, ${stats.added} line(s) only in ${rightTitle.toLowerCase()}`;
  wrap.appendChild(summary);
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const title of [leftTitle, rightTitle]) {
    const th = document.createElement('th');
    th.textContent = title;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.className = `jp-nbsync-diff-${row.kind}`;
    for (const [side, text] of [
      ['left', row.left],
      ['right', row.right]
    ] as const) {
      const td = tr.insertCell();
      td.className = `jp-nbsync-diff-${side}` + (text === null ? ' jp-nbsync-diff-empty' : '');
      const pre = document.createElement('pre');
      pre.textContent = text ?? '';
      td.appendChild(pre);
    }
  }
  wrap.appendChild(table);
  return wrap;
}
