import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { IRosterStudent, IRosterUpdate } from '../api/messages';
import { applyRosterUpdate, IHeldRoster } from '../logic/roster';

function row(
  id: string,
  name: string,
  online: boolean,
  pulled: { [cellId: string]: number } = {}
): IRosterStudent {
  return { student_id: id, name, user: '', online, pulled };
}

const held: IHeldRoster = {
  version: 3,
  students: [row('s1', 'Ada', true, { c1: 1 }), row('s2', 'Bob', true)]
};

test('a full roster replaces what is held, whatever its version', () => {
  const update: IRosterUpdate = {
    type: 'roster_update',
    version: 9,
    full: true,
    students: [row('s3', 'Cy', false)]
  };
  for (const from of [held, { version: null, students: [] }]) {
    const next = applyRosterUpdate(from, update);
    assert.deepEqual(next, { version: 9, students: [row('s3', 'Cy', false)] });
    assert.notEqual(next?.students, update.students);
  }
});

test('a delta replaces the changed rows, adds new ones, drops the removed', () => {
  const ada = row('s1', 'Ada', true, { c1: 1, c2: 4 });
  const update: IRosterUpdate = {
    type: 'roster_update',
    version: 4,
    base: 3,
    students: [row('s4', 'Dee', true), ada],
    removed: ['s2']
  };
  const next = applyRosterUpdate(held, update);
  assert.ok(next);
  assert.equal(next.version, 4);
  assert.deepEqual(next.students, [ada, row('s4', 'Dee', true)]);
  // not changed: what was held stays as it was
  assert.deepEqual(
    held.students.map(s => s.name),
    ['Ada', 'Bob']
  );
  assert.deepEqual(held.students[0].pulled, { c1: 1 });
});

test('students a delta does not touch keep their objects; the array is new', () => {
  const update: IRosterUpdate = {
    type: 'roster_update',
    version: 4,
    base: 3,
    students: [row('s2', 'Bob', false)]
  };
  const next = applyRosterUpdate(held, update);
  assert.ok(next);
  assert.notEqual(next.students, held.students);
  assert.equal(next.students[0], held.students[0]);
  assert.equal(next.students[1].online, false);
});

test('a delta that does not follow the version held is refused', () => {
  const update: IRosterUpdate = {
    type: 'roster_update',
    version: 6,
    base: 5,
    students: [row('s1', 'Ada', false)],
    removed: []
  };
  assert.equal(applyRosterUpdate(held, update), null);
  assert.equal(
    applyRosterUpdate({ version: null, students: [] }, { ...update, base: 0 }),
    null
  );
});

test('merged deltas equal the full roster they lead to', () => {
  let roster: IHeldRoster = { version: null, students: [] };
  const steps: IRosterUpdate[] = [
    {
      type: 'roster_update',
      version: 1,
      full: true,
      students: [row('a', 'A', true)]
    },
    {
      type: 'roster_update',
      version: 2,
      base: 1,
      students: [row('b', 'B', true)],
      removed: []
    },
    {
      type: 'roster_update',
      version: 3,
      base: 2,
      students: [row('a', 'A', true, { x: 2 })],
      removed: []
    },
    {
      type: 'roster_update',
      version: 4,
      base: 3,
      students: [row('b', 'B', false)],
      removed: ['a']
    }
  ];
  for (const step of steps) {
    const next = applyRosterUpdate(roster, step);
    assert.ok(next);
    roster = next;
  }
  assert.deepEqual(roster, { version: 4, students: [row('b', 'B', false)] });
});
