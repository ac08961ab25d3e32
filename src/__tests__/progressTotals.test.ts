import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { IProgressMatrix, ProgressStatus } from '../api/messages';
import { cellTotals, orderedStudents } from '../logic/progress';
import {
  allCellTotals,
  ProgressTotals,
  rowSignature,
  StudentOrder,
  visibleRows
} from '../logic/progressTotals';

const STATUSES: ProgressStatus[] = [
  'up_to_date',
  'behind',
  'conflict',
  'kept_mine',
  'never_pulled'
];

/** A class of `n` students × `m` cells, statuses spread deterministically, some cells absent. */
function classMatrix(n: number, m: number): IProgressMatrix {
  const cells = Array.from({ length: m }, (_, j) => `c${j}`);
  const names = ['Ada', 'bob', 'Émile', 'zoe', 'Zoë', 'ada', 'Bob'];
  return {
    type: 'progress_snapshot',
    cells,
    students: Array.from({ length: n }, (_, i) => ({
      student_id: `s${(i * 7919) % n}`,
      name: names[i % names.length],
      user: i % 3 ? `u${i}` : null,
      online: i % 2 === 0,
      cells: Object.fromEntries(
        cells
          .filter((_, j) => (i + j) % 5 !== 0)
          .map((id, j) => [
            id,
            {
              status: STATUSES[(i * 3 + j) % STATUSES.length],
              pulled_seq: j,
              help: (i + j) % 11 === 0
            }
          ])
      )
    }))
  };
}

test('allCellTotals equals cellTotals for every cell', () => {
  const matrix = classMatrix(120, 9);
  const all = allCellTotals(matrix);
  assert.equal(all.size, 9);
  for (const cellId of matrix.cells) {
    assert.deepEqual(all.get(cellId), cellTotals(matrix, cellId));
  }
});

test('ProgressTotals: the same figures as cellTotals, each cell once per matrix', () => {
  const totals = new ProgressTotals();
  const matrix = classMatrix(60, 6);
  assert.equal(totals.get(null, 'c1'), null);
  assert.equal(totals.get(matrix, 'not-shared'), null);
  assert.deepEqual(totals.get(matrix, 'c1'), cellTotals(matrix, 'c1'));
  const first = totals.get(matrix, 'c1');
  assert.equal(totals.get(matrix, 'c1'), first, 'cached: the same object');
  assert.equal(totals.computed, 1, 'only the cell asked for');
  // a new matrix object (the session replaces it on every progress change) is computed anew
  const next: IProgressMatrix = {
    ...matrix,
    students: matrix.students.map((s, i) =>
      i === 0
        ? {
            ...s,
            cells: {
              ...s.cells,
              c1: { status: 'conflict', pulled_seq: 1, help: true }
            }
          }
        : s
    )
  };
  const after = totals.get(next, 'c1');
  assert.notEqual(after, first);
  assert.deepEqual(after, cellTotals(next, 'c1'));
  assert.equal(totals.computed, 1);
  // the matrix going away clears it
  assert.equal(totals.get(null, 'c1'), null);
  assert.equal(totals.computed, 0);
});

test('StudentOrder orders as orderedStudents and re-sorts only a new students list', () => {
  const order = new StudentOrder();
  const matrix = classMatrix(50, 2);
  const ordered = order.ordered(matrix);
  assert.deepEqual(
    ordered.map(s => s.student_id),
    orderedStudents(matrix).map(s => s.student_id)
  );
  assert.equal(order.ordered(matrix), ordered, 'same list: not sorted again');
  const fewer = { ...matrix, students: matrix.students.slice(1) };
  assert.deepEqual(
    order.ordered(fewer).map(s => s.student_id),
    orderedStudents(fewer).map(s => s.student_id)
  );
});

test('rowSignature changes with what the row shows, and only then', () => {
  const matrix = classMatrix(3, 4);
  const s = matrix.students[1];
  const sig = rowSignature(s, matrix.cells);
  assert.equal(
    rowSignature({ ...s, cells: { ...s.cells } }, matrix.cells),
    sig
  );
  const c = { status: 'behind' as const, pulled_seq: 9, help: false };
  const withHelp = { ...s, cells: { ...s.cells, c2: { ...c, help: true } } };
  const without = { ...s, cells: { ...s.cells, c2: c } };
  assert.notEqual(
    rowSignature(withHelp, matrix.cells),
    rowSignature(without, matrix.cells)
  );
  assert.notEqual(rowSignature({ ...s, online: !s.online }, matrix.cells), sig);
  assert.notEqual(
    rowSignature({ ...s, name: `${s.name}x` }, matrix.cells),
    sig
  );
  // a missing cell reads as never pulled
  const gone = { ...s, cells: {} };
  const never = {
    ...s,
    cells: Object.fromEntries(
      matrix.cells.map(id => [
        id,
        { status: 'never_pulled' as const, pulled_seq: 0, help: false }
      ])
    )
  };
  assert.equal(
    rowSignature(gone, matrix.cells),
    rowSignature(never, matrix.cells)
  );
});

test('visibleRows: the rows in view plus overscan, clamped; a fallback before layout', () => {
  assert.deepEqual(visibleRows(0, 0, 400, 20, 5, 40), { start: 0, end: 0 });
  assert.deepEqual(visibleRows(500, 0, 0, 20, 5, 40), { start: 0, end: 40 });
  assert.deepEqual(visibleRows(10, 0, 0, 0, 5, 40), { start: 0, end: 10 });
  assert.deepEqual(visibleRows(500, 0, 400, 20, 5, 40), { start: 0, end: 25 });
  assert.deepEqual(visibleRows(500, 1000, 400, 20, 5, 40), {
    start: 45,
    end: 75
  });
  assert.deepEqual(visibleRows(500, 9600, 400, 20, 5, 40), {
    start: 475,
    end: 500
  });
  // scrolled past the end (the list shrank): still the last rows
  assert.deepEqual(visibleRows(30, 9600, 400, 20, 5, 40), {
    start: 24,
    end: 30
  });
  assert.deepEqual(visibleRows(3, 0, 400, 20, 5, 40), { start: 0, end: 3 });
});
