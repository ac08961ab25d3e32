import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as Y from 'yjs';

import { readOutputs, readRoomCells } from '../logic/follow';
import { outputBundle, sameOutputs, toOutputs } from '../logic/outputs';
import { SyncMemory } from '../logic/storage';

const PNG = 'iVBORw0KGgo=';

test('toOutputs keeps nbformat outputs only, as plain copies', () => {
  const stream = { output_type: 'stream', name: 'stdout', text: 'hi\n' };
  const out = toOutputs([stream, { output_type: 'bogus' }, 'text', null, [1]]);
  assert.deepEqual(out, [stream]);
  assert.notEqual(out[0], stream);
});

test('outputs become the mime bundles JupyterLab renders them from', () => {
  assert.deepEqual(
    outputBundle({
      output_type: 'stream',
      name: 'stdout',
      text: ['a\n', 'b\n']
    }),
    {
      data: { 'application/vnd.jupyter.stdout': 'a\nb\n' },
      metadata: {},
      kind: 'stdout'
    }
  );
  assert.equal(
    outputBundle({ output_type: 'stream', name: 'stderr', text: 'x' })?.kind,
    'stderr'
  );
  assert.deepEqual(
    outputBundle({
      output_type: 'display_data',
      data: { 'image/png': PNG, 'text/plain': ['<Figure>'] },
      metadata: { 'image/png': { width: 2 } }
    }),
    {
      data: { 'image/png': PNG, 'text/plain': '<Figure>' },
      metadata: { 'image/png': { width: 2 } },
      kind: 'display'
    }
  );
  assert.equal(
    outputBundle({
      output_type: 'execute_result',
      data: { 'text/plain': '3' },
      metadata: {},
      execution_count: 1
    })?.kind,
    'result'
  );
  assert.deepEqual(
    outputBundle({
      output_type: 'error',
      ename: 'ValueError',
      evalue: 'bad',
      traceback: ['line 1', 'ValueError: bad']
    })?.data,
    { 'application/vnd.jupyter.stderr': 'line 1\nValueError: bad' }
  );
  assert.equal(outputBundle({ output_type: 'display_data' }), null);
});

test('sameOutputs compares by value', () => {
  const a = [{ output_type: 'stream' as const, name: 'stdout', text: 'x' }];
  assert.equal(sameOutputs(a, [{ ...a[0] }]), true);
  assert.equal(sameOutputs(a, []), false);
});

test('the room cell outputs are read from Y.Maps or plain objects; none for a locked cell', () => {
  const doc = new Y.Doc();
  const cells = doc.getArray<unknown>('cells');
  const cell = new Y.Map<unknown>();
  cell.set('id', 'c');
  cell.set('cell_type', 'code');
  cell.set('source', new Y.Text('print(1)'));
  cell.set('metadata', { notebook_sync: { seq: 1 } });
  const stream = new Y.Map<unknown>();
  stream.set('output_type', 'stream');
  stream.set('name', 'stdout');
  stream.set('text', new Y.Text('1\n'));
  const outputs = new Y.Array<unknown>();
  outputs.push([
    stream,
    { output_type: 'display_data', data: { 'image/png': PNG }, metadata: {} }
  ]);
  cell.set('outputs', outputs);
  const locked = new Y.Map<unknown>();
  locked.set('id', 'l');
  locked.set('cell_type', 'code');
  locked.set('source', new Y.Text(''));
  locked.set('metadata', { notebook_sync: { seq: 1, locked: true } });
  const lockedOutputs = new Y.Array<unknown>();
  lockedOutputs.push([
    { output_type: 'stream', name: 'stdout', text: 'secret' }
  ]);
  locked.set('outputs', lockedOutputs);
  cells.push([cell, locked]);
  const [read, readLocked] = readRoomCells(doc);
  assert.deepEqual(read.outputs, [
    { output_type: 'stream', name: 'stdout', text: '1\n' },
    { output_type: 'display_data', data: { 'image/png': PNG }, metadata: {} }
  ]);
  assert.deepEqual(readLocked.outputs, []);
  assert.deepEqual(readOutputs(undefined), []);
  assert.deepEqual(readOutputs([{ output_type: 'stream', text: 'x' }]), [
    { output_type: 'stream', text: 'x' }
  ]);
});

test("a cell's Share outputs choice is kept with the notebook's session", () => {
  const store = new Map<string, string>();
  const memory = new SyncMemory({
    getItem: k => store.get(k) ?? null,
    setItem: (k, v) => void store.set(k, v),
    removeItem: k => void store.delete(k)
  });
  // no session remembered for the notebook: nothing to keep it with
  memory.setShareOutputs('a.ipynb', 'c1', false);
  assert.equal(memory.shareOutputs('a.ipynb', 'c1'), null);
  memory.setTeacher('a.ipynb', {
    session_code: 'ABCDEF',
    teacher_key: 'k',
    title: 'T'
  });
  memory.setShareOutputs('a.ipynb', 'c1', false);
  memory.setShareOutputs('a.ipynb', 'c2', true);
  assert.equal(memory.shareOutputs('a.ipynb', 'c1'), false);
  assert.equal(memory.shareOutputs('a.ipynb', 'c2'), true);
  assert.equal(memory.shareOutputs('a.ipynb', 'c3'), null);
  assert.equal(memory.shareOutputs('b.ipynb', 'c1'), null);
  memory.setShareOutputs('a.ipynb', 'c2', null); // forgotten: the default again
  assert.equal(memory.shareOutputs('a.ipynb', 'c2'), null);
  assert.equal(memory.getTeacher('a.ipynb')?.teacher_key, 'k');
  memory.clearTeacher('a.ipynb'); // the session ended: the choices go with it
  assert.equal(memory.shareOutputs('a.ipynb', 'c1'), null);
});
