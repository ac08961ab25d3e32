import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DEFAULT_SETTINGS,
  MIN_AUTO_PUSH_DELAY_MS,
  pauseDelay,
  pushesOnPause,
  pushesOnRun,
  readSettings
} from '../logic/settings';

test('settings are read from the composite values, defaults for the rest', () => {
  const values: Record<string, unknown> = {
    autoPush: 'run-and-pause',
    autoPushDelayMs: 500,
    shareOutputs: true
  };
  assert.deepEqual(
    readSettings(key => values[key]),
    {
      autoPush: 'run-and-pause',
      autoPushDelayMs: 500,
      shareOutputs: true
    }
  );
  assert.deepEqual(
    readSettings(() => undefined),
    DEFAULT_SETTINGS
  );
  assert.deepEqual(
    readSettings(key => (key === 'autoPush' ? 'sometimes' : 0)),
    DEFAULT_SETTINGS
  );
});

test('which modes push on run and after a pause', () => {
  assert.deepEqual(
    (['off', 'run', 'pause', 'run-and-pause'] as const).map(mode => [
      pushesOnRun(mode),
      pushesOnPause(mode)
    ]),
    [
      [false, false],
      [true, false],
      [false, true],
      [true, true]
    ]
  );
});

test('the edit pause is never shorter than the minimum', () => {
  assert.equal(
    pauseDelay({ ...DEFAULT_SETTINGS, autoPush: 'pause', autoPushDelayMs: 50 }),
    MIN_AUTO_PUSH_DELAY_MS
  );
  assert.equal(
    pauseDelay({
      ...DEFAULT_SETTINGS,
      autoPush: 'pause',
      autoPushDelayMs: 3000
    }),
    3000
  );
});
