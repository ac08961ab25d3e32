import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as Y from 'yjs';

import { fromBase64 } from '../logic/delta';
import { readFixture } from './fixtures';

interface IState {
  text: string;
  state: string;
}

// A teacher cell's full states as the server stores them: each push's structs spliced onto the
// previous state (notebook_sync_ydoc/engines/splice.py), not re-encoded. A student with no base
// receives such a state as is. Made by tests/test_push_history.py, which checks the engine still
// makes these bytes.
const states = readFixture<{ states: IState[] }>('spliced-states.json').states;

test('Yjs decodes every spliced teacher state to its text', () => {
  assert.ok(states.length >= 6);
  for (const s of states) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, fromBase64(s.state));
    assert.equal(doc.getText('source').toString(), s.text);
    doc.destroy();
  }
});

test('a document that took the states in turn reads the last text', () => {
  const doc = new Y.Doc();
  for (const s of states) {
    Y.applyUpdate(doc, fromBase64(s.state));
    assert.equal(doc.getText('source').toString(), s.text);
  }
  doc.destroy();
});
