import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  insertionIndex,
  reconnectDelay,
  UpdateTracker
} from '../logic/updates';
import { normaliseCode, SyncMemory } from '../logic/storage';

test('update_available is de-duplicated by (cell_id, seq)', () => {
  const t = new UpdateTracker();
  assert.equal(t.offer({ cell_id: 'c1', seq: 3, index: 0 }), true);
  assert.equal(t.offer({ cell_id: 'c1', seq: 3, index: 0 }), false);
  assert.equal(t.offer({ cell_id: 'c1', seq: 2, index: 0 }), false);
  assert.equal(t.hasUpdate('c1'), true);
  t.markPulled('c1', 3);
  assert.equal(t.hasUpdate('c1'), false);
  // a re-announcement after reconnect of what was pulled is ignored
  assert.equal(t.offer({ cell_id: 'c1', seq: 3 }), false);
  assert.equal(t.offer({ cell_id: 'c1', seq: 5 }), true);
  assert.equal(t.hasUpdate('c1'), true);
});

test('join state: pulled seqs, locked cells and removed cells', () => {
  const t = new UpdateTracker();
  t.offer({ cell_id: 'gone', seq: 1, index: 9 });
  t.loadCells([
    { cell_id: 'a', seq: 4, index: 0, pulled_seq: 4, sync_allowed: true },
    { cell_id: 'b', seq: 6, index: 1, pulled_seq: 2, sync_allowed: false },
    { cell_id: 'c', seq: 5, index: 2, pulled_seq: null, cell_type: 'markdown' }
  ]);
  assert.equal(t.hasUpdate('a'), false);
  assert.equal(t.hasUpdate('b'), true);
  assert.equal(t.hasUpdate('gone'), false);
  assert.deepEqual(
    t.pending().map(s => s.cellId),
    ['b', 'c']
  );
  assert.deepEqual(
    t.pullable().map(s => s.cellId),
    ['c']
  );
  assert.equal(t.get('c')?.cellType, 'markdown');
  t.setAllowed('b', true);
  assert.deepEqual(
    t.pullable().map(s => s.cellId),
    ['b', 'c']
  );
  t.markRemoved('c');
  assert.deepEqual(
    t.pending().map(s => s.cellId),
    ['b']
  );
});

test('pulledStates lists cells pulled and current, in teacher order', () => {
  const t = new UpdateTracker();
  t.loadCells([
    { cell_id: 'b', seq: 3, index: 1, pulled_seq: 3 },
    { cell_id: 'a', seq: 2, index: 0, pulled_seq: 2 },
    { cell_id: 'c', seq: 5, index: 2, pulled_seq: 4 },
    { cell_id: 'd', seq: 6, index: 3, pulled_seq: 0 }
  ]);
  assert.deepEqual(
    t.pulledStates().map(s => s.cellId),
    ['a', 'b']
  );
  t.markRemoved('a');
  assert.deepEqual(
    t.pulledStates().map(s => s.cellId),
    ['b']
  );
});

test('pending cells come in the teacher order, not arrival order', () => {
  const t = new UpdateTracker();
  t.offer({ cell_id: 'third', seq: 1, index: 2 });
  t.offer({ cell_id: 'first', seq: 2, index: 0 });
  t.offer({ cell_id: 'second', seq: 3, index: 1 });
  assert.deepEqual(
    t.pending().map(s => s.cellId),
    ['first', 'second', 'third']
  );
});

test('insertionIndex keeps teacher order among the student cells', () => {
  const order = new Map([
    ['t0', 0],
    ['t1', 1],
    ['t2', 2],
    ['t3', 3]
  ]);
  // student has own cells s*, and t0, t2
  const student = ['s0', 't0', 's1', 't2', 's2'];
  assert.equal(insertionIndex(student, order, 1), 2); // right after t0
  assert.equal(insertionIndex(student, order, 3), 4); // right after t2
  assert.equal(insertionIndex(['s0', 't2'], order, 1), 1); // before t2: nothing before it
  assert.equal(insertionIndex(['s0', 's1'], order, 1), 2); // no teacher cells: at the end
  assert.equal(insertionIndex([], order, 0), 0);
});

test('reconnect delay grows and is capped', () => {
  assert.equal(reconnectDelay(0, 0.5), 500);
  assert.equal(reconnectDelay(1, 0.5), 1000);
  assert.equal(reconnectDelay(10, 0.5), 10000);
  assert.ok(reconnectDelay(3, 0) < reconnectDelay(3, 0.99));
});

class MemStorage {
  map = new Map<string, string>();
  getItem(k: string) {
    return this.map.has(k) ? this.map.get(k)! : null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

test('SyncMemory keeps teacher key per notebook path and student key per session', () => {
  const storage = new MemStorage();
  const m = new SyncMemory(storage);
  m.setTeacher('a.ipynb', {
    session_code: 'ABC234',
    teacher_key: 'k',
    title: 't'
  });
  assert.equal(m.getTeacher('a.ipynb')?.teacher_key, 'k');
  assert.equal(m.getTeacher('b.ipynb'), null);
  m.setStudent({ session_code: 'ABC234', student_key: 's', name: 'Ann' });
  m.setStudentNotebook('mine.ipynb', 'ABC234');
  assert.equal(
    m.getStudent(m.getStudentNotebook('mine.ipynb')!)?.student_key,
    's'
  );
  m.clearTeacher('a.ipynb');
  assert.equal(m.getTeacher('a.ipynb'), null);
  // corrupt entries are dropped, not thrown
  storage.setItem(SyncMemory.studentKey('BAD'), '{not json');
  assert.equal(m.getStudent('BAD'), null);
  assert.equal(storage.getItem(SyncMemory.studentKey('BAD')), null);
});

test('normaliseCode', () => {
  assert.equal(normaliseCode(' abc-23 4 '), 'ABC234');
});
