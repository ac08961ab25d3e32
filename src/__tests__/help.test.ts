import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { IHelpRequestInfo } from '../api/messages';
import {
  clampNote,
  HelpQueue,
  MAX_HELP_NOTE,
  offerUpdate,
  StudentHelp,
  SuggestionTracker,
  waitingMinutes
} from '../logic/help';
import { SyncMemory } from '../logic/storage';
import { UpdateTracker } from '../logic/updates';

function request(
  student: string,
  cell: string,
  opened: number,
  extra: Partial<IHelpRequestInfo> = {}
): IHelpRequestInfo {
  return {
    student_id: student,
    name: `name-${student}`,
    user: '',
    cell_id: cell,
    note: '',
    source: 'x = 1',
    opened,
    resolved: false,
    answer: null,
    ...extra
  };
}

test('the help queue is oldest first, one request per (student, cell)', () => {
  const q = new HelpQueue();
  q.load([request('b', 'c1', 30), request('a', 'c1', 10)]);
  q.update('c', 'c2', request('c', 'c2', 20));
  assert.deepEqual(
    q.ordered().map(r => [r.student_id, r.cell_id]),
    [
      ['a', 'c1'],
      ['c', 'c2'],
      ['b', 'c1']
    ]
  );
  // a new request of the same student and cell replaces the old one (and its place)
  q.update('a', 'c1', request('a', 'c1', 40, { note: 'again' }));
  assert.equal(q.size, 3);
  assert.deepEqual(
    q.ordered().map(r => r.student_id),
    ['c', 'b', 'a']
  );
  assert.equal(q.get('a', 'c1')?.note, 'again');
  assert.equal(q.countForCell('c1'), 2);
  // ties: by name
  q.update('d', 'c3', request('d', 'c3', 20, { name: 'aaa' }));
  assert.equal(q.ordered()[0].student_id, 'd');
});

test('withdrawn and resolved requests leave the queue; a reload replaces it', () => {
  const q = new HelpQueue();
  q.load([request('a', 'c1', 1), request('b', 'c1', 2)]);
  q.update('a', 'c1', null);
  q.update('b', 'c1', request('b', 'c1', 2, { resolved: true }));
  assert.equal(q.size, 0);
  q.update('b', 'c1', request('b', 'c1', 2, { answer: null }));
  q.load([request('z', 'c9', 5)]);
  assert.deepEqual(
    q.ordered().map(r => r.student_id),
    ['z']
  );
  // a queue sent with a resolved entry does not show it
  q.load([request('z', 'c9', 5, { resolved: true })]);
  assert.equal(q.size, 0);
});

test('waiting time in whole minutes, from seconds or milliseconds', () => {
  const now = 1_700_000_600_000;
  assert.equal(waitingMinutes(1_700_000_000, now), 10);
  assert.equal(waitingMinutes(1_700_000_000_000, now), 10);
  assert.equal(waitingMinutes(1_700_000_590, now), 0);
  assert.equal(waitingMinutes(1_700_001_000, now), 0); // a clock ahead: never negative
});

test('a note is trimmed and cut to 500 characters (code points)', () => {
  assert.equal(clampNote('  hi \n'), 'hi');
  assert.equal(clampNote('é'.repeat(600)).length, MAX_HELP_NOTE);
  assert.equal(Array.from(clampNote('😀'.repeat(501))).length, MAX_HELP_NOTE);
});

test('private updates are de-duplicated by (cell_id, seq) apart from shared ones', () => {
  const shared = new UpdateTracker();
  const mine = new SuggestionTracker();
  shared.markPulled('c1', 1);
  // a suggestion with seq 1 is new even though the shared cell was pulled at seq 1
  assert.equal(
    offerUpdate({ cell_id: 'c1', seq: 1, private: true }, shared, mine),
    true
  );
  assert.equal(shared.hasUpdate('c1'), false);
  assert.deepEqual(shared.pending(), []);
  assert.equal(mine.has('c1'), true);
  // the same suggestion again (after a reconnect): a duplicate
  assert.equal(
    offerUpdate({ cell_id: 'c1', seq: 1, private: true }, shared, mine),
    false
  );
  // a shared update with the suggestion's seq is the shared cell's own
  assert.equal(offerUpdate({ cell_id: 'c1', seq: 2 }, shared, mine), true);
  assert.equal(
    offerUpdate({ cell_id: 'c1', seq: 2, private: true }, shared, mine),
    true
  );
  assert.equal(offerUpdate({ cell_id: 'c1', seq: 2 }, shared, mine), false);
  assert.equal(shared.hasUpdate('c1'), true);
  // pulling the suggestion leaves the shared update pending, and the reverse
  mine.used('c1');
  assert.equal(mine.has('c1'), false);
  assert.equal(shared.hasUpdate('c1'), true);
  assert.equal(
    offerUpdate({ cell_id: 'c1', seq: 2, private: true }, shared, mine),
    false
  );
  assert.equal(
    offerUpdate({ cell_id: 'c1', seq: 3, private: true }, shared, mine),
    true
  );
  shared.markPulled('c1', 2);
  assert.equal(mine.has('c1'), true);
  assert.deepEqual(mine.pending(), [{ cellId: 'c1', seq: 3 }]);
});

test('a new help request counts its suggestions from 1 again', () => {
  const mine = new SuggestionTracker();
  assert.equal(mine.offer({ cell_id: 'c1', seq: 1 }), true);
  mine.used('c1');
  assert.equal(mine.offer({ cell_id: 'c1', seq: 1 }), false);
  mine.reset('c1');
  assert.equal(mine.offer({ cell_id: 'c1', seq: 1 }), true);
});

test('the student sees the open request, the answers (once each) and the resolution', () => {
  const h = new StudentHelp();
  h.asked('c1', 'why?');
  assert.deepEqual(h.get('c1'), {
    cellId: 'c1',
    open: true,
    note: 'why?',
    answerNote: null,
    answers: 0,
    resolved: false
  });
  const answer = {
    cell_id: 'c1',
    note: 'look at line 2',
    has_suggestion: true,
    resolved: false,
    seq: 1
  };
  assert.equal(h.answered(answer), true);
  assert.equal(h.answered(answer), false); // told again after a reconnect
  assert.equal(h.get('c1')?.answerNote, 'look at line 2');
  assert.equal(h.get('c1')?.open, true);
  // resolved without a new note keeps the last one
  assert.equal(
    h.answered({ ...answer, note: null, resolved: true, seq: 2 }),
    true
  );
  assert.equal(h.get('c1')?.open, false);
  assert.equal(h.get('c1')?.resolved, true);
  assert.equal(h.get('c1')?.answerNote, 'look at line 2');
  // asking again starts afresh; withdrawing forgets it
  h.asked('c1', 'still stuck');
  assert.equal(h.get('c1')?.answers, 0);
  assert.equal(h.answered({ ...answer, seq: 1 }), true);
  h.withdrawn('c1');
  assert.equal(h.get('c1'), undefined);
  // an answer for a request this page did not know of (after a reload)
  assert.equal(h.answered({ ...answer, cell_id: 'c2' }), true);
  assert.equal(h.get('c2')?.note, '');
});

test('help state survives a reload through the browser storage', () => {
  const store = new Map<string, string>();
  const memory = new SyncMemory({
    getItem: k => store.get(k) ?? null,
    setItem: (k, v) => void store.set(k, v),
    removeItem: k => void store.delete(k)
  });
  const help = new StudentHelp();
  const suggestions = new SuggestionTracker();
  help.asked('c1', 'why?');
  help.answered({
    cell_id: 'c1',
    note: 'see line 1',
    has_suggestion: true,
    resolved: false,
    seq: 1
  });
  suggestions.offer({ cell_id: 'c1', seq: 2 });
  suggestions.offer({ cell_id: 'c2', seq: 1 });
  suggestions.used('c2');
  memory.setHelp('ABCDEF', {
    requests: help.all(),
    suggestions: suggestions.snapshot()
  });

  const kept = memory.getHelp('ABCDEF');
  assert.ok(kept);
  const help2 = new StudentHelp();
  const suggestions2 = new SuggestionTracker();
  help2.restore(kept.requests);
  suggestions2.restore(kept.suggestions);
  assert.deepEqual(help2.get('c1'), help.get('c1'));
  assert.deepEqual(suggestions2.pending(), [{ cellId: 'c1', seq: 2 }]);
  // what was seen is not announced again; a newer one is
  assert.equal(suggestions2.offer({ cell_id: 'c2', seq: 1 }), false);
  assert.equal(suggestions2.offer({ cell_id: 'c2', seq: 2 }), true);
  // what this page knows already wins over the kept copy
  const help3 = new StudentHelp();
  help3.asked('c1', 'newer');
  help3.restore(kept.requests);
  assert.equal(help3.get('c1')?.note, 'newer');
  memory.clearHelp('ABCDEF');
  assert.equal(memory.getHelp('ABCDEF'), null);
  store.set(SyncMemory.helpKey('X'), '{"requests": 3}');
  assert.equal(memory.getHelp('X'), null); // a corrupt entry is dropped
});
