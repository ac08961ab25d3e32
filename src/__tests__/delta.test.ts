import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applyDelta, fromBase64, textCheck } from '../logic/delta';
import { readFixture } from './fixtures';

interface IVector {
  base: string;
  theirs: string;
  delta: string;
  check: string;
}

// Made by the server (pycrdt); the same file is checked against the server by
// tests/test_delta_pulls.py, so Yjs here and yrs there agree on the base document.
const vectors = readFixture<{ vectors: IVector[] }>(
  'delta-vectors.json'
).vectors;

test('Yjs rebuilds the teacher text from the base and the server delta', () => {
  assert.ok(vectors.length >= 8);
  for (const v of vectors) {
    assert.equal(applyDelta(v.base, fromBase64(v.delta)), v.theirs);
  }
});

test('the text check is the server one', () => {
  for (const v of vectors) {
    assert.equal(textCheck(v.theirs), v.check);
  }
  assert.equal(textCheck(''), '811c9dc5');
});

test('a wrong base gives a text that fails the check', () => {
  const v = vectors[1];
  const wrong = applyDelta(v.base + ' ', fromBase64(v.delta));
  assert.notEqual(textCheck(wrong), v.check);
});
