import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { IProgressMatrix } from '../api/messages';
import { cellTotals, csvField, progressCsv } from '../logic/progress';

const matrix: IProgressMatrix = {
  type: 'progress_snapshot',
  cells: ['c1', 'c2'],
  students: [
    {
      student_id: 's2',
      name: 'Bob',
      user: 'bob',
      online: false,
      cells: {
        c1: { status: 'conflict', pulled_seq: 1, help: true },
        c2: { status: 'never_pulled', pulled_seq: 0, help: false }
      }
    },
    {
      student_id: 's1',
      name: 'Ada',
      user: '',
      online: true,
      cells: {
        c1: { status: 'up_to_date', pulled_seq: 2, help: false },
        c2: { status: 'kept_mine', pulled_seq: 1, help: true }
      }
    },
    {
      student_id: 's3',
      name: '=HYPERLINK("x"), "hi"',
      online: true,
      cells: { c1: { status: 'behind', pulled_seq: 1, help: false } }
    }
  ]
};

test('per-cell totals count every student once', () => {
  const t = cellTotals(matrix, 'c1');
  assert.deepEqual(t, {
    students: 3,
    counts: {
      up_to_date: 1,
      behind: 1,
      conflict: 1,
      kept_mine: 0,
      never_pulled: 0
    },
    help: 1
  });
  // a student the matrix has no entry for on a cell has never pulled it
  assert.equal(cellTotals(matrix, 'c2')?.counts.never_pulled, 2);
  assert.equal(cellTotals(matrix, 'c2')?.help, 1);
  assert.equal(cellTotals(matrix, 'nope'), null);
  assert.equal(cellTotals(null, 'c1'), null);
});

test('CSV fields: quoted when needed, formulas defused', () => {
  assert.equal(csvField('Ada'), 'Ada');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('=1+1'), "'=1+1");
  assert.equal(csvField('-2'), "'-2");
  assert.equal(csvField('@cmd'), "'@cmd");
  assert.equal(csvField(' padded '), '" padded "');
});

test('the progress CSV: a row per student by name, a column per cell', () => {
  const csv = progressCsv(matrix, new Map([['c1', 'code cell #1']]));
  assert.equal(
    csv,
    [
      'student,user,online,code cell #1,c2',
      '"\'=HYPERLINK(""x""), ""hi""",,yes,behind,never_pulled',
      'Ada,,yes,up_to_date,kept_mine +help',
      'Bob,bob,no,conflict +help,never_pulled',
      ''
    ].join('\r\n')
  );
});
