/**
 * A read-only follower of a session's Yjs room (`/notebook-sync/room/<CODE>`): y-websocket's
 * provider on a local Y.Doc, with the connection state the "Follow teacher" panel shows.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

import {
  findRoomState,
  IRoomCell,
  IRoomState,
  readRoomCells
} from '../logic/follow';
import { CloseCode } from './codes';

/**
 * - `connecting`: first connection (or a reconnection) under way, nothing synced yet.
 * - `live`: connected and synced; the view follows the teacher.
 * - `reconnecting`: the socket dropped after a sync; the last view stays on screen.
 * - `failing`: several attempts in a row were refused or failed (still retrying).
 * - `ended`: the session ended (close code 4410); no more reconnection.
 * - `closed`: the server closed for good with another 44xx code, or the follower was stopped.
 */
export type FollowState =
  'connecting' | 'live' | 'reconnecting' | 'failing' | 'ended' | 'closed';

/** Consecutive failed attempts after which the panel says so. */
const FAILING_AFTER = 3;

/** Reconnection backoff cap (y-websocket's default is 2.5 s; a class is many clients). */
const MAX_BACKOFF_MS = 10_000;

export interface IFollowOptions {
  code: string;
  /** The student's (or teacher's) key for this session. */
  key: string;
  /** A display name published in the room's awareness (optional). */
  name?: string;
  settings?: ServerConnection.ISettings;
}

/** The follow room's base URL: y-websocket appends `/<CODE>?key=...`. */
export function followRoomBase(settings: ServerConnection.ISettings): string {
  return URLExt.join(settings.wsUrl, 'notebook-sync/room');
}

export class FollowRoom implements IDisposable {
  constructor(options: IFollowOptions) {
    const settings = options.settings ?? ServerConnection.makeSettings();
    this.code = options.code;
    this.key = options.key;
    const params: Record<string, string> = { key: options.key };
    if (settings.token) {
      params.token = settings.token;
    }
    this.doc = new Y.Doc();
    this.provider = new WebsocketProvider(
      followRoomBase(settings),
      options.code,
      this.doc,
      {
        params,
        disableBc: true,
        maxBackoffTime: MAX_BACKOFF_MS,
        WebSocketPolyfill: settings.WebSocket
      }
    );
    if (options.name) {
      this.provider.awareness.setLocalStateField('user', {
        name: options.name,
        display_name: options.name
      });
    }
    this.doc.on('update', this._onUpdate);
    this.provider.awareness.on('change', this._onAwareness);
    this.provider.on('status', this._onStatus);
    this.provider.on('sync', this._onSync);
    this.provider.on('connection-close', this._onConnectionClose);
    this.provider.on('closed', this._onClosed);
  }

  readonly code: string;
  readonly key: string;
  readonly doc: Y.Doc;
  readonly provider: WebsocketProvider;

  get state(): FollowState {
    return this._state;
  }

  /** The document, the awareness or the connection state changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The room's cells, in order. */
  cells(): IRoomCell[] {
    return readRoomCells(this.doc);
  }

  /** The room's awareness state (title, pullable cells, roster), once received. */
  roomState(): IRoomState | null {
    return findRoomState(this.provider.awareness.getStates(), this.code);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.doc.off('update', this._onUpdate);
    this.provider.awareness.off('change', this._onAwareness);
    this.provider.off('status', this._onStatus);
    this.provider.off('sync', this._onSync);
    this.provider.off('connection-close', this._onConnectionClose);
    this.provider.off('closed', this._onClosed);
    this.provider.destroy();
    this.doc.destroy();
    Signal.clearData(this);
  }

  private _onUpdate = (): void => {
    this._changed.emit();
  };

  private _onAwareness = (): void => {
    if (this.roomState()?.status === 'ended') {
      this._stop('ended');
      return;
    }
    this._changed.emit();
  };

  private _onStatus = (event: {
    status: 'connected' | 'disconnected' | 'connecting';
  }): void => {
    if (this._state === 'ended' || this._state === 'closed') {
      return;
    }
    if (event.status === 'connected') {
      // Live once synced (the 'sync' event).
      return;
    }
    if (event.status === 'disconnected') {
      this._setState('reconnecting');
      return;
    }
    // connecting
    if (this.provider.wsUnsuccessfulReconnects >= FAILING_AFTER) {
      this._setState('failing');
    } else if (this._everSynced) {
      this._setState('reconnecting');
    } else {
      this._setState('connecting');
    }
  };

  private _onSync = (synced: boolean): void => {
    if (synced && this._state !== 'ended' && this._state !== 'closed') {
      this._everSynced = true;
      this._setState('live');
    }
  };

  private _onConnectionClose = (event: CloseEvent | null): void => {
    if (event && event.code === CloseCode.sessionEnded) {
      // Inside y-websocket's close path: only make sure it does not reconnect.
      this._stop('ended', false);
    }
  };

  private _onClosed = (event: { code: number; reason: string }): void => {
    // A permanent close (44xx) from the server: y-websocket stopped reconnecting.
    this._stop(
      event.code === CloseCode.sessionEnded ? 'ended' : 'closed',
      false
    );
  };

  private _stop(state: 'ended' | 'closed', disconnect = true): void {
    this.provider.shouldConnect = false;
    if (disconnect && this.provider.ws) {
      this.provider.disconnect();
    }
    this._setState(state);
  }

  private _setState(state: FollowState): void {
    this._state = state;
    this._changed.emit();
  }

  private _isDisposed = false;
  private _everSynced = false;
  private _state: FollowState = 'connecting';
  private _changed = new Signal<this, void>(this);
}
