/**
 * A line diff for the preview ("mine" beside "teacher's"). Pure, unit-tested in node.
 *
 * Common leading and trailing lines are trimmed first; the middle is diffed by a longest
 * common subsequence, bounded: above `maxCells` (rows x columns) the middle is shown as one
 * replaced block instead of spending quadratic time.
 */

export type DiffKind = 'same' | 'removed' | 'added';

export interface IDiffLine {
  kind: DiffKind;
  text: string;
}

/** One row of a side-by-side view: the left (mine) and right (teacher's) line, either may be absent. */
export interface ISideBySideRow {
  kind: 'same' | 'changed' | 'removed' | 'added';
  left: string | null;
  right: string | null;
}

export function splitLines(text: string): string[] {
  if (text === '') {
    return [];
  }
  return text.split('\n');
}

export function diffLines(
  oldText: string,
  newText: string,
  maxCells = 4_000_000
): IDiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: IDiffLine[] = [];
  for (let i = 0; i < start; i++) {
    out.push({ kind: 'same', text: a[i] });
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > maxCells) {
    midA.forEach(text => out.push({ kind: 'removed', text }));
    midB.forEach(text => out.push({ kind: 'added', text }));
  } else {
    // lcs[i][j] = LCS length of midA[i:] and midB[j:], stored flat.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          midA[i] === midB[j]
            ? lcs[(i + 1) * w + j + 1] + 1
            : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (midA[i] === midB[j]) {
        out.push({ kind: 'same', text: midA[i] });
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
        out.push({ kind: 'removed', text: midA[i++] });
      } else {
        out.push({ kind: 'added', text: midB[j++] });
      }
    }
    while (i < n) {
      out.push({ kind: 'removed', text: midA[i++] });
    }
    while (j < m) {
      out.push({ kind: 'added', text: midB[j++] });
    }
  }
  for (let i = endA; i < a.length; i++) {
    out.push({ kind: 'same', text: a[i] });
  }
  return out;
}

/**
 * Pair removed and added runs into side-by-side rows: a run of k removed lines followed by
 * l added lines gives max(k, l) rows, the first min(k, l) of them "changed".
 */
export function sideBySide(lines: IDiffLine[]): ISideBySideRow[] {
  const rows: ISideBySideRow[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.kind === 'same') {
      rows.push({ kind: 'same', left: line.text, right: line.text });
      i++;
      continue;
    }
    const removed: string[] = [];
    const added: string[] = [];
    while (i < lines.length && lines[i].kind === 'removed') {
      removed.push(lines[i++].text);
    }
    while (i < lines.length && lines[i].kind === 'added') {
      added.push(lines[i++].text);
    }
    const count = Math.max(removed.length, added.length);
    for (let k = 0; k < count; k++) {
      const left = k < removed.length ? removed[k] : null;
      const right = k < added.length ? added[k] : null;
      rows.push({
        kind:
          left !== null && right !== null
            ? 'changed'
            : left !== null
              ? 'removed'
              : 'added',
        left,
        right
      });
    }
  }
  return rows;
}

/** Counts for a one-line summary such as "+2 −1". */
export function diffStats(lines: IDiffLine[]): {
  added: number;
  removed: number;
} {
  let added = 0;
  let removed = 0;
  for (const line of lines) {
    if (line.kind === 'added') {
      added++;
    } else if (line.kind === 'removed') {
      removed++;
    }
  }
  return { added, removed };
}
