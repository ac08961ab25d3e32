/**
 * The teacher's automatic push (setting `autoPush`): a shared cell is pushed when it is run,
 * or after a pause in typing, if it changed since its last push.
 */
import { IDisposable } from '@lumino/disposable';

import {
  DEFAULT_SETTINGS,
  ISyncSettings,
  pauseDelay,
  pushesOnPause,
  pushesOnRun
} from '../logic/settings';

export class AutoPush implements IDisposable {
  /** `pushIfDirty` pushes the cell when it changed since its last push. */
  constructor(private _pushIfDirty: (cellId: string) => void) {}

  settings: ISyncSettings = { ...DEFAULT_SETTINGS };

  /** A shared cell was edited: (re)start its pause timer. */
  edited(cellId: string): void {
    if (!pushesOnPause(this.settings.autoPush)) {
      return;
    }
    this._cancel(cellId);
    const timer = setTimeout(() => {
      this._timers.delete(cellId);
      this._pushIfDirty(cellId);
    }, pauseDelay(this.settings));
    this._timers.set(cellId, timer);
  }

  /** A shared cell was run. */
  ran(cellId: string): void {
    if (pushesOnRun(this.settings.autoPush)) {
      this._pushIfDirty(cellId);
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    this._isDisposed = true;
    for (const timer of this._timers.values()) {
      clearTimeout(timer);
    }
    this._timers.clear();
  }

  private _cancel(cellId: string): void {
    const previous = this._timers.get(cellId);
    if (previous) {
      clearTimeout(previous);
    }
  }

  private _isDisposed = false;
  private _timers = new Map<string, ReturnType<typeof setTimeout>>();
}
