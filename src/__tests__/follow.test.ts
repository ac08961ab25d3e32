import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as Y from 'yjs';

import {
  findRoomState,
  followAction,
  followView,
  IStudentSide,
  placeholderLines,
  readRoomCells
} from '../logic/follow';

/** A room cell as the server writes it (jupyter-ydoc's YNotebook schema). */
function roomCell(
  id: string,
  type: string,
  source: string,
  seq: number,
  locked = false
): Y.Map<unknown> {
  const cell = new Y.Map<unknown>();
  cell.set('id', id);
  cell.set('cell_type', type);
  cell.set('source', new Y.Text(locked ? '' : source));
  const metadata = new Y.Map<unknown>();
  metadata.set('notebook_sync', { locked, seq });
  cell.set('metadata', metadata);
  if (type === 'code') {
    cell.set('outputs', new Y.Array());
    cell.set('execution_count', null);
  }
  return cell;
}

function roomDoc(): Y.Doc {
  const doc = new Y.Doc();
  doc
    .getArray('cells')
    .push([
      roomCell('t-intro', 'markdown', '# Lesson 1', 1),
      roomCell('t-sum', 'code', 'x = 1\ny = 2\nprint(x + y)', 3),
      roomCell('t-func', 'code', 'secret', 4, true)
    ]);
  doc.getMap('meta').set('nbformat', 4);
  return doc;
}

function student(
  pulled: Record<string, number>,
  present: string[]
): IStudentSide {
  return {
    pulledSeq: id => pulled[id] ?? 0,
    hasCell: id => present.includes(id)
  };
}

const ROOM_STATE = {
  user: { name: 'Teacher' },
  notebook_sync: {
    role: 'teacher',
    session_code: 'ABC123',
    title: 'Lesson 1',
    status: 'active',
    cells: { 't-intro': 1, 't-sum': 3 },
    roster: [
      { student_id: 's1', name: 'Ada', online: true },
      { student_id: 's2', name: 'Alan', online: false }
    ]
  }
};

test('room cells are read in order with type, source and lock; a locked cell has no content', () => {
  const cells = readRoomCells(roomDoc());
  assert.deepEqual(
    cells.map(c => [c.id, c.cellType, c.source, c.locked, c.seq]),
    [
      ['t-intro', 'markdown', '# Lesson 1', false, 1],
      ['t-sum', 'code', 'x = 1\ny = 2\nprint(x + y)', false, 3],
      ['t-func', 'code', '', true, 4]
    ]
  );
});

test('the room state is the only awareness state with notebook_sync role teacher', () => {
  const states = new Map<number, unknown>([
    [7, { user: { name: 'Ada' } }],
    [8, { notebook_sync: { role: 'student', cells: { x: 9 } } }],
    [1, ROOM_STATE]
  ]);
  const room = findRoomState(states, 'ABC123');
  assert.ok(room);
  assert.equal(room.title, 'Lesson 1');
  assert.deepEqual(room.cells, { 't-intro': 1, 't-sum': 3 });
  assert.equal(room.roster.length, 2);
  assert.equal(findRoomState(states, 'OTHER'), null);
  assert.equal(findRoomState(new Map([[7, { user: {} }]])), null);
});

test('view: new, behind, current, missing and locked cells', () => {
  const doc = roomDoc();
  const room = findRoomState(new Map([[1, ROOM_STATE]]));
  // nothing pulled yet: every unlocked cell is new
  let view = followView(readRoomCells(doc), room, student({}, ['s-notes']));
  assert.deepEqual(
    view.cells.map(c => c.status),
    ['new', 'new', 'locked']
  );
  assert.equal(view.behind, 2);
  assert.equal(view.online, 1);
  assert.equal(view.students, 2);
  assert.equal(view.title, 'Lesson 1');
  // pulled t-intro at 1, t-sum at 2 (the teacher is at 3)
  view = followView(
    readRoomCells(doc),
    room,
    student({ 't-intro': 1, 't-sum': 2 }, ['t-intro', 't-sum'])
  );
  assert.deepEqual(
    view.cells.map(c => c.status),
    ['current', 'behind', 'locked']
  );
  assert.equal(view.cells[1].availableSeq, 3);
  assert.equal(view.cells[1].pulledSeq, 2);
  assert.equal(view.behind, 1);
  // t-intro pulled then deleted from the notebook
  view = followView(
    readRoomCells(doc),
    room,
    student({ 't-intro': 1, 't-sum': 3 }, ['t-sum'])
  );
  assert.deepEqual(
    view.cells.map(c => c.status),
    ['missing', 'current', 'locked']
  );
  assert.equal(view.behind, 0);
  assert.equal(followAction('missing'), 'restore');
  assert.equal(followAction('new'), 'add');
  assert.equal(followAction('behind'), 'pull');
  assert.equal(followAction('current'), null);
  assert.equal(followAction('locked'), null);
});

test('live: a push, a lock and a retype in the document show up; awareness ahead of the document wins', () => {
  const doc = roomDoc();
  const side = student({ 't-intro': 1, 't-sum': 3 }, ['t-intro', 't-sum']);
  const cells = doc.getArray<Y.Map<unknown>>('cells');
  // the teacher pushes t-sum (seq 5)
  doc.transact(() => {
    const sum = cells.get(1);
    const text = sum.get('source') as Y.Text;
    text.delete(0, 'x = 1'.length);
    text.insert(0, 'x = 10');
    (sum.get('metadata') as Y.Map<unknown>).set('notebook_sync', {
      locked: false,
      seq: 5
    });
  });
  let view = followView(readRoomCells(doc), null, side);
  assert.equal(view.cells[1].source, 'x = 10\ny = 2\nprint(x + y)');
  assert.equal(view.cells[1].status, 'behind');
  // t-intro is locked: its content goes, it cannot be pulled
  doc.transact(() => {
    cells.delete(0, 1);
    cells.insert(0, [roomCell('t-intro', 'markdown', '', 2, true)]);
  });
  view = followView(readRoomCells(doc), null, side);
  assert.equal(view.cells[0].status, 'locked');
  assert.equal(view.cells[0].source, '');
  // a retype is a delete and a re-insert of a new map with the same id
  doc.transact(() => {
    cells.delete(1, 1);
    cells.insert(1, [roomCell('t-sum', 'raw', 'x = 10', 6)]);
  });
  view = followView(readRoomCells(doc), null, side);
  assert.deepEqual(
    view.cells.map(c => [c.id, c.cellType]),
    [
      ['t-intro', 'markdown'],
      ['t-sum', 'raw'],
      ['t-func', 'code']
    ]
  );
  // the awareness announces seq 7 before the document has it
  const ahead = findRoomState(
    new Map([
      [
        1,
        {
          notebook_sync: { ...ROOM_STATE.notebook_sync, cells: { 't-sum': 7 } }
        }
      ]
    ])
  );
  view = followView(
    readRoomCells(doc),
    ahead,
    student({ 't-sum': 6 }, ['t-sum'])
  );
  assert.equal(view.cells[1].availableSeq, 7);
  assert.equal(view.cells[1].status, 'behind');
});

test('a remote follower sees the same view after applying the room updates', () => {
  const server = roomDoc();
  const follower = new Y.Doc();
  Y.applyUpdate(follower, Y.encodeStateAsUpdate(server));
  server.on('update', (update: Uint8Array) => Y.applyUpdate(follower, update));
  const text = server
    .getArray<Y.Map<unknown>>('cells')
    .get(0)
    .get('source') as Y.Text;
  text.insert(text.length, '\nWelcome');
  assert.equal(readRoomCells(follower)[0].source, '# Lesson 1\nWelcome');
  assert.deepEqual(readRoomCells(follower), readRoomCells(server));
});

test('odd documents: non-cells are skipped, plain metadata and string sources are read', () => {
  const doc = new Y.Doc();
  const plain = new Y.Map<unknown>();
  plain.set('id', 'p');
  plain.set('cell_type', 'code');
  plain.set('source', 'a = 1');
  plain.set('metadata', { notebook_sync: { seq: 2 } });
  const noId = new Y.Map<unknown>();
  noId.set('cell_type', 'code');
  doc.getArray<unknown>('cells').push([plain, noId, 'junk']);
  assert.deepEqual(readRoomCells(doc), [
    {
      id: 'p',
      cellType: 'code',
      source: 'a = 1',
      locked: false,
      seq: 2,
      outputs: []
    }
  ]);
});

test('the teacher\u2019s own view: shared or locked, nothing to pull, locked without content', () => {
  const doc = roomDoc();
  const view = followView(readRoomCells(doc), null, null);
  assert.deepEqual(
    view.cells.map(c => [c.id, c.status, c.source]),
    [
      ['t-intro', 'shared', '# Lesson 1'],
      ['t-sum', 'shared', 'x = 1\ny = 2\nprint(x + y)'],
      ['t-func', 'locked', '']
    ]
  );
  assert.equal(view.behind, 0);
  assert.deepEqual(
    view.cells.map(c => followAction(c.status)),
    [null, null, null]
  );
});

test('placeholder lines: the source lines, at least one, capped; a locked cell one', () => {
  const cells = readRoomCells(roomDoc());
  assert.deepEqual(
    cells.map(c => placeholderLines(c)),
    [1, 3, 1]
  );
  const long = { ...cells[1], source: 'x\n'.repeat(100) };
  assert.equal(placeholderLines(long), 24);
  assert.equal(placeholderLines(long, 5), 5);
  assert.equal(placeholderLines({ ...cells[1], source: '' }), 1);
});
