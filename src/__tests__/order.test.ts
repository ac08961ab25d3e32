import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  matchMoves,
  needsReorder,
  renameKey,
  serverOrder,
  sharedOrder
} from '../logic/order';
import { StudentHelp, SuggestionTracker } from '../logic/help';
import { SyncMemory } from '../logic/storage';
import { UpdateTracker } from '../logic/updates';

test('the session cells in the notebook order', () => {
  const shared = new Set(['b', 'd', 'a']);
  assert.deepEqual(
    sharedOrder(['a', 'x', 'b', 'y', 'd'], id => shared.has(id)),
    ['a', 'b', 'd']
  );
});

test('the server order: by stored index, unknown when two share one', () => {
  assert.deepEqual(
    serverOrder(
      new Map([
        ['b', 4],
        ['a', 1],
        ['c', 9]
      ])
    ),
    ['a', 'b', 'c']
  );
  assert.equal(
    serverOrder(
      new Map([
        ['a', 1],
        ['b', 1]
      ])
    ),
    null
  );
  assert.deepEqual(serverOrder(new Map()), []);
});

test('a reorder is needed only when the order of the shared cells changed', () => {
  assert.equal(needsReorder(['a', 'b', 'c'], ['a', 'b', 'c']), false);
  assert.equal(needsReorder(['b', 'a', 'c'], ['a', 'b', 'c']), true);
  // cells the server holds but the notebook lacks do not count
  assert.equal(needsReorder(['a', 'c'], ['a', 'gone', 'c']), false);
  // a cell the server has no index for yet: send the order
  assert.equal(needsReorder(['a', 'new', 'c'], ['a', 'c']), true);
  // the server's order unknown (a tie): send it, unless there is nothing to order
  assert.equal(needsReorder(['a', 'b'], null), true);
  assert.equal(needsReorder(['a'], null), false);
});

test('a removed shared cell pasted back under a new id is a move', () => {
  const { moves, unmatched } = matchMoves(
    [
      { id: 'm1', cellType: 'markdown', source: '# Title' },
      { id: 'c1', cellType: 'code', source: 'x = 1' },
      { id: 'gone', cellType: 'code', source: 'y = 2' }
    ],
    [
      { id: 'new-code', cellType: 'code', source: 'x = 1' },
      // same text, other type: not the same cell
      { id: 'other', cellType: 'code', source: '# Title' },
      { id: 'new-md', cellType: 'markdown', source: '# Title' }
    ]
  );
  assert.deepEqual(moves, [
    { fromId: 'm1', toId: 'new-md' },
    { fromId: 'c1', toId: 'new-code' }
  ]);
  assert.deepEqual(unmatched, ['gone']);
});

test('each new cell is the move of one removed cell only', () => {
  const { moves, unmatched } = matchMoves(
    [
      { id: 'a', cellType: 'code', source: 'same' },
      { id: 'b', cellType: 'code', source: 'same' }
    ],
    [{ id: 'n', cellType: 'code', source: 'same' }]
  );
  assert.deepEqual(moves, [{ fromId: 'a', toId: 'n' }]);
  assert.deepEqual(unmatched, ['b']);
  assert.deepEqual(
    matchMoves([], [{ id: 'n', cellType: 'code', source: '' }]),
    {
      moves: [],
      unmatched: []
    }
  );
});

test('renameKey moves an entry, and leaves a map without it alone', () => {
  const map = new Map([
    ['a', 1],
    ['b', 2]
  ]);
  renameKey(map, 'a', 'z');
  assert.deepEqual(
    [...map],
    [
      ['b', 2],
      ['z', 1]
    ]
  );
  renameKey(map, 'nope', 'y');
  assert.equal(map.size, 2);
});

test('cells_reordered: the student tracker takes the teacher order, unnamed cells after', () => {
  const tracker = new UpdateTracker();
  tracker.loadCells([
    { cell_id: 'a', seq: 1, index: 0 },
    { cell_id: 'b', seq: 1, index: 1 },
    { cell_id: 'c', seq: 1, index: 2 }
  ]);
  tracker.reorder(['c', 'a']);
  assert.deepEqual(
    tracker.pending().map(s => s.cellId),
    ['c', 'a', 'b']
  );
  assert.deepEqual([...tracker.teacherOrder()].sort(), [
    ['a', 1],
    ['b', 2],
    ['c', 0]
  ]);
});

test('cell_moved: the student keeps the pulled state under the new id', () => {
  const tracker = new UpdateTracker();
  tracker.loadCells([
    { cell_id: 'old', seq: 3, index: 0, pulled_seq: 3 },
    { cell_id: 'x', seq: 1, index: 1 }
  ]);
  assert.equal(tracker.rename('old', 'new', 1), true);
  assert.equal(tracker.get('old'), undefined);
  const moved = tracker.get('new');
  assert.equal(moved?.pulledSeq, 3);
  assert.equal(moved?.availableSeq, 3);
  assert.equal(moved?.teacherIndex, 1);
  assert.equal(tracker.hasUpdate('new'), false);
  assert.equal(tracker.rename('unknown', 'other'), false);
  assert.equal(tracker.get('other'), undefined);
});

test('cell_moved: help, suggestions and the kept delta-pull base follow the new id', () => {
  const help = new StudentHelp();
  help.asked('old', 'why?');
  help.rename('old', 'new');
  assert.equal(help.get('old'), undefined);
  assert.equal(help.get('new')?.note, 'why?');
  assert.equal(help.get('new')?.cellId, 'new');

  const suggestions = new SuggestionTracker();
  suggestions.offer({ cell_id: 'old', seq: 2 });
  suggestions.rename('old', 'new');
  assert.equal(suggestions.has('old'), false);
  assert.equal(suggestions.has('new'), true);
  assert.equal(suggestions.offer({ cell_id: 'new', seq: 2 }), false);

  const store = new Map<string, string>();
  const memory = new SyncMemory({
    getItem: k => store.get(k) ?? null,
    setItem: (k, v) => void store.set(k, v),
    removeItem: k => void store.delete(k)
  });
  memory.setBase('ABC', 'old', { seq: 3, text: 'x = 1' });
  memory.setBase('ABC', 'other', { seq: 1, text: 'y' });
  memory.renameBase('ABC', 'old', 'new');
  assert.equal(memory.getBase('ABC', 'old'), null);
  assert.deepEqual(memory.getBase('ABC', 'new'), { seq: 3, text: 'x = 1' });
  assert.deepEqual(memory.getBase('ABC', 'other'), { seq: 1, text: 'y' });
  memory.renameBase('ABC', 'missing', 'n2');
  assert.equal(memory.getBase('ABC', 'n2'), null);
});
