import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  diffLines,
  diffStats,
  sideBySide,
  splitLines
} from '../logic/lineDiff';

test('splitLines', () => {
  assert.deepEqual(splitLines(''), []);
  assert.deepEqual(splitLines('a'), ['a']);
  assert.deepEqual(splitLines('a\nb\n'), ['a', 'b', '']);
});

test('identical texts are all "same"', () => {
  const lines = diffLines('a\nb', 'a\nb');
  assert.deepEqual(
    lines.map(l => l.kind),
    ['same', 'same']
  );
  assert.deepEqual(diffStats(lines), { added: 0, removed: 0 });
});

test('a changed line is a removal and an addition, paired side by side', () => {
  const lines = diffLines('x = 1\ny = 2\nz = 3', 'x = 1\ny = 20\nz = 3');
  assert.deepEqual(lines, [
    { kind: 'same', text: 'x = 1' },
    { kind: 'removed', text: 'y = 2' },
    { kind: 'added', text: 'y = 20' },
    { kind: 'same', text: 'z = 3' }
  ]);
  assert.deepEqual(sideBySide(lines), [
    { kind: 'same', left: 'x = 1', right: 'x = 1' },
    { kind: 'changed', left: 'y = 2', right: 'y = 20' },
    { kind: 'same', left: 'z = 3', right: 'z = 3' }
  ]);
});

test('insertions in the middle keep the common lines aligned (LCS)', () => {
  const lines = diffLines('a\nb\nc\nd', 'a\nX\nb\nc\nY\nd');
  assert.deepEqual(
    lines.map(l => `${l.kind[0]}${l.text}`),
    ['sa', 'aX', 'sb', 'sc', 'aY', 'sd']
  );
  assert.deepEqual(diffStats(lines), { added: 2, removed: 0 });
});

test('uneven replacement runs give removed/added rows', () => {
  const rows = sideBySide(diffLines('a\nb\nc', 'z'));
  assert.deepEqual(rows, [
    { kind: 'changed', left: 'a', right: 'z' },
    { kind: 'removed', left: 'b', right: null },
    { kind: 'removed', left: 'c', right: null }
  ]);
  const rows2 = sideBySide(diffLines('', 'p\nq'));
  assert.deepEqual(rows2, [
    { kind: 'added', left: null, right: 'p' },
    { kind: 'added', left: null, right: 'q' }
  ]);
});

test('above the size bound the middle is one replaced block', () => {
  const a = Array.from({ length: 50 }, (_, i) => `a${i}`).join('\n');
  const b = Array.from({ length: 50 }, (_, i) =>
    i % 2 ? `a${i}` : `b${i}`
  ).join('\n');
  const bounded = diffLines(a, b, 100);
  // every line of a removed, every line of b added, but the common first/last trimmed lines kept
  const stats = diffStats(bounded);
  assert.equal(
    stats.added +
      stats.removed +
      bounded.filter(l => l.kind === 'same').length * 2,
    100
  );
  const exact = diffLines(a, b);
  assert.ok(diffStats(exact).added < stats.added);
});
