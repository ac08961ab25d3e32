/**
 * The websocket to /notebook-sync/ws: request/reply by req_id, events as a signal, automatic
 * reconnection with backoff, a keep-alive ping.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { reconnectDelay } from '../logic/updates';
import { ErrorCode, endsSession, SyncError } from './errors';
import { ClientMessage, ReplyTo, ServerMessage } from './messages';

/** `signed-out`: reconnecting, but this page's login is no longer valid on the server (on
 * JupyterHub, a restarted server revokes the tokens of its open pages): only a reload helps. */
export type ConnectionState =
  'connecting' | 'connected' | 'reconnecting' | 'signed-out' | 'closed';

interface IPending {
  resolve: (msg: ServerMessage) => void;
  reject: (err: SyncError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const REQUEST_TIMEOUT_MS = 15_000;
const PING_INTERVAL_MS = 20_000;
const PONG_TIMEOUT_MS = 10_000;

/** Build the websocket URL from the server settings (base URL, ws URL and token). */
export function syncSocketUrl(settings: ServerConnection.ISettings): string {
  let url = URLExt.join(settings.wsUrl, 'notebook-sync', 'ws');
  const token = settings.token;
  if (settings.appendToken && token !== '') {
    url = url + `?token=${encodeURIComponent(token)}`;
  }
  return url;
}

export class SyncConnection implements IDisposable {
  constructor(settings?: ServerConnection.ISettings) {
    this._settings = settings ?? ServerConnection.makeSettings();
  }

  get state(): ConnectionState {
    return this._state;
  }

  get stateChanged(): ISignal<this, ConnectionState> {
    return this._stateChanged;
  }

  /** Every server message that is not the direct reply to a request. */
  get message(): ISignal<this, ServerMessage> {
    return this._message;
  }

  /**
   * Emitted after every (re)connection, before queued requests are sent: the owner re-joins or
   * resumes here (the promise it returns is awaited).
   */
  set onOpen(handler: (() => Promise<void>) | null) {
    this._onOpen = handler;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Open the socket (idempotent). Resolves once connected and the onOpen handler has run.
   *
   * With `giveUpAfterMs`, a first connection that does not succeed in time is closed and the
   * promise rejects (for interactive start/join); without it, it keeps retrying (a restore
   * after a reload waits for the server to come back).
   */
  connect(giveUpAfterMs?: number): Promise<void> {
    if (this._isDisposed) {
      return Promise.reject(
        new SyncError('disconnected', 'Connection disposed')
      );
    }
    if (!this._ready) {
      this._ready = new Promise<void>((resolve, reject) => {
        this._readyResolve = resolve;
        this._readyReject = reject;
      });
      // Settled either way: nobody may be listening (a reconnect after a failed re-join).
      this._ready.catch(() => undefined);
      this._open();
    }
    if (giveUpAfterMs === undefined) {
      return this._ready;
    }
    const ready = this._ready;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this._state !== 'connected') {
          this.close();
          reject(
            new SyncError('disconnected', 'Could not reach the sync server')
          );
        }
      }, giveUpAfterMs);
      ready.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        err => {
          clearTimeout(timer);
          reject(err);
        }
      );
    });
  }

  /** Send a request and wait for its direct reply (or its error). */
  request<M extends ClientMessage>(
    msg: M,
    timeoutMs = REQUEST_TIMEOUT_MS
  ): Promise<ReplyTo<M>> {
    const reqId = `r${++this._counter}`;
    return new Promise<ReplyTo<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(reqId);
        reject(new SyncError('timeout', `No answer to ${msg.type}`));
      }, timeoutMs);
      this._pending.set(reqId, {
        // The server answers a request with its reply type (Replies) or an error.
        resolve: m => resolve(m as ReplyTo<M>),
        reject,
        timer
      });
      if (!this._sendRaw({ ...msg, req_id: reqId })) {
        clearTimeout(timer);
        this._pending.delete(reqId);
        reject(
          new SyncError('disconnected', 'Not connected to the sync server')
        );
      }
    });
  }

  /** Close for good (no reconnect). */
  close(): void {
    this._closing = true;
    this._clearTimers();
    if (this._ws) {
      this._ws.onclose = null;
      this._ws.close();
      this._ws = null;
    }
    this._rejectAll('disconnected');
    this._setState('closed');
    this._ready = null;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this.close();
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _open(): void {
    this._closing = false;
    this._setState(this._attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new this._settings.WebSocket(syncSocketUrl(this._settings));
    this._ws = ws;
    ws.onopen = () => {
      this._attempt = 0;
      this._signedOut = false;
      this._socketOpen = true;
      this._startPing();
      const afterOpen = this._onOpen ? this._onOpen() : Promise.resolve();
      afterOpen
        .then(() => {
          this._setState('connected');
          this._readyResolve?.();
        })
        .catch((err: unknown) => {
          const error =
            err instanceof SyncError
              ? err
              : new SyncError('internal', String(err));
          this._readyReject?.(error);
          if (endsSession(error)) {
            // Nothing to come back to: stop trying.
            this.close();
          } else if (ws === this._ws) {
            // A transient failure (store unavailable, timeout): drop the socket and retry.
            ws.close();
          }
        });
    };
    ws.onmessage = (event: MessageEvent) => this._onMessage(event);
    ws.onclose = () => this._onClose();
    ws.onerror = () => {
      // onclose follows; reconnection happens there.
    };
  }

  private _onMessage(event: MessageEvent): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(String(event.data)) as ServerMessage;
    } catch {
      console.warn('notebook-sync: ignoring a non-JSON frame');
      return;
    }
    if (msg.type === 'pong') {
      this._clearPongTimer();
    }
    const reqId = (msg as { req_id?: unknown }).req_id;
    if (typeof reqId === 'string' && this._pending.has(reqId)) {
      const pending = this._pending.get(reqId)!;
      this._pending.delete(reqId);
      clearTimeout(pending.timer);
      if (msg.type === 'error') {
        pending.reject(new SyncError(msg.code, msg.message));
      } else {
        pending.resolve(msg);
      }
      return;
    }
    this._message.emit(msg);
  }

  private _onClose(): void {
    const neverOpened = !this._socketOpen;
    this._ws = null;
    this._socketOpen = false;
    this._clearTimers();
    this._rejectAll('disconnected');
    if (this._closing || this._isDisposed) {
      this._setState('closed');
      return;
    }
    this._setState('reconnecting');
    if (neverOpened && this._attempt >= 2 && !this._signedOut) {
      void this._checkSignedIn();
    }
    const delay = reconnectDelay(this._attempt++, Math.random());
    this._reconnectTimer = setTimeout(() => this._open(), delay);
  }

  /** Refused sockets say nothing of why: ask the server whether this page is still signed in
   * (a 403 or 401 on a plain request), so the page can say "reload" instead of retrying on. */
  private async _checkSignedIn(): Promise<void> {
    const url = URLExt.join(this._settings.baseUrl, 'notebook-sync', 'status');
    let status: number;
    try {
      status = (await ServerConnection.makeRequest(url, {}, this._settings))
        .status;
    } catch {
      return; // the server is unreachable: reconnecting is the right word
    }
    if ((status === 403 || status === 401) && this._state === 'reconnecting') {
      this._signedOut = true;
      this._setState('signed-out');
    }
  }

  private _sendRaw(msg: ClientMessage): boolean {
    if (
      !this._ws ||
      !this._socketOpen ||
      this._ws.readyState !== WebSocket.OPEN
    ) {
      return false;
    }
    this._ws.send(JSON.stringify(msg));
    return true;
  }

  private _startPing(): void {
    this._pingTimer = setInterval(() => {
      if (this._sendRaw({ type: 'ping' })) {
        this._clearPongTimer();
        this._pongTimer = setTimeout(() => {
          // No pong: the socket is dead without knowing it. Force a reconnect.
          this._ws?.close();
        }, PONG_TIMEOUT_MS);
      }
    }, PING_INTERVAL_MS);
  }

  private _clearPongTimer(): void {
    if (this._pongTimer) {
      clearTimeout(this._pongTimer);
      this._pongTimer = null;
    }
  }

  private _clearTimers(): void {
    if (this._pingTimer) {
      clearInterval(this._pingTimer);
      this._pingTimer = null;
    }
    if (this._reconnectTimer) {
      clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
    }
    this._clearPongTimer();
  }

  private _rejectAll(code: ErrorCode): void {
    for (const [, pending] of this._pending) {
      clearTimeout(pending.timer);
      pending.reject(new SyncError(code, 'Connection lost'));
    }
    this._pending.clear();
  }

  private _setState(state: ConnectionState): void {
    if (state === 'reconnecting' && this._signedOut) {
      state = 'signed-out';
    }
    if (state !== this._state) {
      this._state = state;
      this._stateChanged.emit(state);
    }
  }

  private _settings: ServerConnection.ISettings;
  private _ws: WebSocket | null = null;
  private _socketOpen = false;
  private _state: ConnectionState = 'closed';
  private _attempt = 0;
  private _signedOut = false;
  private _counter = 0;
  private _closing = false;
  private _isDisposed = false;
  private _pending = new Map<string, IPending>();
  private _onOpen: (() => Promise<void>) | null = null;
  private _ready: Promise<void> | null = null;
  private _readyResolve: (() => void) | null = null;
  private _readyReject: ((err: SyncError) => void) | null = null;
  private _pingTimer: ReturnType<typeof setInterval> | null = null;
  private _pongTimer: ReturnType<typeof setTimeout> | null = null;
  private _reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private _stateChanged = new Signal<this, ConnectionState>(this);
  private _message = new Signal<this, ServerMessage>(this);
}
