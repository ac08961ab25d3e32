import assert from 'node:assert/strict';
import { test } from 'node:test';

import type {
  IProgressMatrix,
  IProgressSnapshot,
  IProgressUpdate
} from '../api/messages';
import {
  applyProgressUpdate,
  cellTotals,
  csvField,
  decodeProgress,
  progressCsv
} from '../logic/progress';
import { readFixture } from './fixtures';

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

/** A matrix without what may differ between equal views: the students' order. */
function normal(matrix: IProgressMatrix): unknown {
  return {
    version: matrix.version,
    cells: matrix.cells,
    students: matrix.students
      .map(s => ({
        ...s,
        user: s.user ?? '',
        cells: Object.fromEntries(
          Object.entries(s.cells).sort(([a], [b]) => a.localeCompare(b))
        )
      }))
      .sort((a, b) => a.student_id.localeCompare(b.student_id))
  };
}

const snapshot: IProgressSnapshot = {
  type: 'progress_snapshot',
  session_code: 'ABCDEF',
  version: 4,
  cells: ['c1', 'c2'],
  students: [
    {
      student_id: 's1',
      name: 'Ada',
      user: '',
      online: true,
      entries: [
        ['u', 2, 0],
        ['k', 1, 1]
      ]
    },
    {
      student_id: 's2',
      name: 'Bob',
      user: 'bob',
      online: false,
      entries: [
        ['c', 1, 1],
        ['n', 0, 0]
      ]
    }
  ]
};

test('a snapshot decodes to the matrix the view shows', () => {
  const m = decodeProgress(snapshot);
  assert.equal(m.version, 4);
  assert.deepEqual(m.cells, ['c1', 'c2']);
  assert.deepEqual(m.students[0].cells, {
    c1: { status: 'up_to_date', pulled_seq: 2, help: false },
    c2: { status: 'kept_mine', pulled_seq: 1, help: true }
  });
  assert.deepEqual(m.students[1].cells.c1, {
    status: 'conflict',
    pulled_seq: 1,
    help: true
  });
  assert.equal(
    progressCsv(m).split('\r\n')[2],
    'Bob,bob,no,conflict +help,never_pulled'
  );
});

test('an update changes only what it names; untouched students keep their objects', () => {
  const m = decodeProgress(snapshot);
  const update: IProgressUpdate = {
    type: 'progress_update',
    base: 4,
    version: 5,
    students: [{ student_id: 's2', cells: { c2: ['u', 3, 0] } }],
    removed: []
  };
  const applied = applyProgressUpdate(m, update);
  assert.ok(applied);
  assert.deepEqual(applied.cells, ['c2']);
  assert.equal(applied.matrix.version, 5);
  assert.equal(applied.matrix.students[0], m.students[0]);
  assert.notEqual(applied.matrix.students[1], m.students[1]);
  assert.deepEqual(applied.matrix.students[1].cells.c2, {
    status: 'up_to_date',
    pulled_seq: 3,
    help: false
  });
  // the input is not changed
  assert.equal(m.version, 4);
  assert.equal(m.students[1].cells.c2.status, 'never_pulled');
  assert.equal(cellTotals(applied.matrix, 'c2')?.counts.up_to_date, 1);
});

test('a name or presence change redraws no cell; a new order, a student gone, every one', () => {
  const m = decodeProgress(snapshot);
  const online = applyProgressUpdate(m, {
    type: 'progress_update',
    base: 4,
    version: 5,
    students: [{ student_id: 's2', online: true, name: 'Bobby' }],
    removed: []
  });
  assert.deepEqual(online?.cells, []);
  assert.equal(online?.matrix.students[1].name, 'Bobby');
  assert.equal(online?.matrix.students[1].online, true);
  const reordered = applyProgressUpdate(m, {
    type: 'progress_update',
    base: 4,
    version: 5,
    cells: ['c3', 'c1'],
    students: [
      { student_id: 's2', cells: { c3: ['n', 0, 0] } },
      {
        student_id: 's3',
        name: 'Cy',
        user: '',
        online: true,
        cells: { c3: ['b', 1, 0], c1: ['n', 0, 0] }
      }
    ],
    removed: ['s1']
  });
  assert.ok(reordered);
  assert.deepEqual(reordered.cells.sort(), ['c1', 'c2', 'c3']);
  assert.deepEqual(reordered.matrix.cells, ['c3', 'c1']);
  assert.deepEqual(
    reordered.matrix.students.map(s => [
      s.student_id,
      Object.keys(s.cells).sort()
    ]),
    [
      ['s2', ['c1', 'c3']],
      ['s3', ['c1', 'c3']]
    ]
  );
});

test('an update that does not follow the matrix is refused (ask for a snapshot)', () => {
  const m = decodeProgress(snapshot);
  const update: IProgressUpdate = {
    type: 'progress_update',
    base: 3,
    version: 5,
    students: [],
    removed: []
  };
  assert.equal(applyProgressUpdate(m, update), null);
  assert.equal(
    applyProgressUpdate({ ...m, version: undefined }, { ...update, base: 4 }),
    null
  );
});

interface IVectors {
  sequences: {
    first: IProgressSnapshot;
    steps: { update: IProgressUpdate | null; snapshot: IProgressSnapshot }[];
  }[];
}

test("the server's snapshots and deltas merge to each of its snapshots", () => {
  const { sequences } = readFixture<IVectors>('progress-vectors.json');
  assert.ok(sequences.length > 0);
  for (const { first, steps } of sequences) {
    let m = decodeProgress(first);
    for (const { update, snapshot: fresh } of steps) {
      const want = decodeProgress(fresh);
      if (!update) {
        m = { ...m, version: want.version }; // nothing changed, nothing was sent
      } else {
        const applied = applyProgressUpdate(m, update);
        assert.ok(applied);
        // every cell whose column changed is named
        for (const cellId of new Set(m.cells.concat(want.cells))) {
          const totals = JSON.stringify(cellTotals(m, cellId));
          if (totals !== JSON.stringify(cellTotals(applied.matrix, cellId))) {
            assert.ok(applied.cells.includes(cellId), cellId);
          }
        }
        m = applied.matrix;
      }
      assert.deepEqual(normal(m), normal(want));
    }
  }
});
