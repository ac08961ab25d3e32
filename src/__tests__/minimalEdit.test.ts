import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyEdit,
  computeMinimalEdit,
  ISourceSink,
  writeMinimal
} from '../logic/minimalEdit';

/** A sink that records every updateSource call, like the shared model. */
class RecordingSink implements ISourceSink {
  calls: Array<[number, number, string | undefined]> = [];
  constructor(public text: string) {}
  getSource(): string {
    return this.text;
  }
  updateSource(start: number, end: number, value?: string): void {
    this.calls.push([start, end, value]);
    this.text =
      this.text.slice(0, start) + (value ?? '') + this.text.slice(end);
  }
}

test('equal texts give no edit', () => {
  assert.equal(computeMinimalEdit('abc', 'abc'), null);
  assert.equal(computeMinimalEdit('', ''), null);
});

test('only the changed middle is replaced', () => {
  const edit = computeMinimalEdit(
    'x = 1\ny = 2\nz = 3\n',
    'x = 1\ny = 20\nz = 3\n'
  );
  assert.deepEqual(edit, { start: 11, end: 11, insert: '0' }); // after 'y = 2'
});

test('insertion at start, end and deletion', () => {
  assert.deepEqual(computeMinimalEdit('world', 'hello world'), {
    start: 0,
    end: 0,
    insert: 'hello '
  });
  assert.deepEqual(computeMinimalEdit('hello', 'hello world'), {
    start: 5,
    end: 5,
    insert: ' world'
  });
  assert.deepEqual(computeMinimalEdit('hello world', 'hello'), {
    start: 5,
    end: 11,
    insert: ''
  });
  assert.deepEqual(computeMinimalEdit('', 'abc'), {
    start: 0,
    end: 0,
    insert: 'abc'
  });
  assert.deepEqual(computeMinimalEdit('abc', ''), {
    start: 0,
    end: 3,
    insert: ''
  });
});

test('repeated characters: prefix and suffix never overlap', () => {
  // "aaa" -> "aaaa": one 'a' inserted, the edit stays inside the strings.
  const edit = computeMinimalEdit('aaa', 'aaaa');
  assert.ok(edit);
  assert.equal(edit.end - edit.start, 0);
  assert.equal(edit.insert, 'a');
  assert.equal(applyEdit('aaa', edit), 'aaaa');
  const shrink = computeMinimalEdit('abab', 'ab');
  assert.ok(shrink);
  assert.equal(applyEdit('abab', shrink), 'ab');
  assert.equal(shrink.insert, '');
  assert.equal(shrink.end - shrink.start, 2);
});

test('a surrogate pair (emoji) is never split', () => {
  const before = 'x = "\u{1F600}"';
  const after = 'x = "\u{1F601}"'; // same high surrogate, different low surrogate
  const edit = computeMinimalEdit(before, after);
  assert.ok(edit);
  assert.equal(edit.insert, '\u{1F601}');
  assert.equal(edit.end - edit.start, 2);
  assert.equal(applyEdit(before, edit), after);
  // Same low surrogate, different high surrogate: the suffix must not start mid-pair.
  const a = 'k\u{1F600}';
  const b = 'k\u{10600}'; // \uD801\uDE00 vs \uD83D\uDE00: low halves equal
  const e2 = computeMinimalEdit(a, b);
  assert.ok(e2);
  assert.equal(e2.insert, '\u{10600}');
  assert.equal(applyEdit(a, e2), b);
});

test('random texts round-trip through applyEdit', () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = 'ab\n \u00e9\u{1F600}';
  const chars = Array.from(alphabet);
  const randomText = () =>
    Array.from({ length: rand(12) }, () => chars[rand(chars.length)]).join('');
  for (let i = 0; i < 2000; i++) {
    const a = randomText();
    const b = randomText();
    const edit = computeMinimalEdit(a, b);
    assert.equal(
      applyEdit(a, edit),
      b,
      `${JSON.stringify(a)} -> ${JSON.stringify(b)}`
    );
    if (edit) {
      // minimal: the untouched prefix and suffix really are common
      assert.equal(a.slice(0, edit.start), b.slice(0, edit.start));
      assert.equal(
        a.slice(edit.end),
        b.slice(b.length - (a.length - edit.end))
      );
      // never split a surrogate pair
      const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
      assert.ok(!isLow(a.charCodeAt(edit.start)) || edit.start === a.length);
    }
  }
});

test('writeMinimal makes exactly one updateSource call with the middle only', () => {
  const sink = new RecordingSink('def f():\n    return 1\n');
  const edit = writeMinimal(sink, 'def f():\n    return 42\n');
  assert.equal(sink.text, 'def f():\n    return 42\n');
  assert.deepEqual(sink.calls, [[20, 21, '42']]);
  assert.deepEqual(edit, { start: 20, end: 21, insert: '42' });
  // nothing to do: no call at all (undo history untouched)
  writeMinimal(sink, sink.text);
  assert.equal(sink.calls.length, 1);
});

test('large texts are handled in linear time', () => {
  const big = 'x'.repeat(2_000_000);
  const t0 = Date.now();
  const edit = computeMinimalEdit(big + 'a' + big, big + 'b' + big);
  assert.deepEqual(edit, { start: 2_000_000, end: 2_000_001, insert: 'b' });
  assert.ok(Date.now() - t0 < 2000);
});
