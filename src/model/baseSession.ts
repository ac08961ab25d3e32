/**
 * What the teacher's and the student's session of a notebook panel share: the connection, the
 * session's code, title and state, and the signals the widgets render from.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ConnectionState, SyncConnection } from '../api/connection';
import { ServerMessage, SessionMode } from '../api/messages';
import { SyncMemory } from '../logic/storage';
import { cellIds } from './notebookEdit';

export type Role = 'teacher' | 'student';
export type SessionStatus = 'starting' | 'active' | 'ended' | 'left';

/** How long an interactive start or join waits for the server before saying so. */
export const INTERACTIVE_TIMEOUT_MS = 20_000;

export abstract class BaseSession implements IDisposable {
  abstract readonly role: Role;

  constructor(
    readonly panel: NotebookPanel,
    protected memory: SyncMemory,
    serverSettings?: ServerConnection.ISettings
  ) {
    this.connection = new SyncConnection(serverSettings);
    this.connection.stateChanged.connect(() => this._changed.emit());
    this.connection.message.connect((_, msg) => this.handleEvent(msg));
    this.connection.onOpen = () => this.onOpen();
  }

  readonly connection: SyncConnection;
  code = '';
  title = '';
  mode: SessionMode | '' = '';
  status: SessionStatus = 'starting';
  lastError = '';
  /**
   * Set when another tab of this person's acted on this notebook while this tab holds a
   * separate copy of it (no real-time collaboration): saving here would undo that tab's work.
   */
  otherTabWarning = '';

  /** With real-time collaboration every tab of the notebook holds one shared document: what
   * one tab writes, the others show. Without it each tab is its own copy. */
  get collaborative(): boolean {
    return !!this.panel.context.model.collaborative;
  }

  get path(): string {
    return this.panel.context.path;
  }

  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  /** Anything shown in the panel or status bar changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The per-cell state of these cells changed (badges, toggles). */
  get cellsChanged(): ISignal<this, string[]> {
    return this._cellsChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.connection.dispose();
    Signal.clearData(this);
  }

  /** After every (re)connection: create nothing, or resume / re-join (see SyncConnection). */
  protected abstract onOpen(): Promise<void>;
  /** A server message that is not the direct reply to a request. */
  protected abstract handleEvent(msg: ServerMessage): void;

  protected emitChanged(cellIds?: string[]): void {
    this._changed.emit();
    if (cellIds && cellIds.length) {
      this._cellsChanged.emit(cellIds);
    }
  }

  protected endLocally(status: SessionStatus): void {
    this.status = status;
    this.connection.close();
    this.emitChanged(this.allCellIds());
  }

  protected allCellIds(): string[] {
    return cellIds(this.panel.content);
  }

  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _cellsChanged = new Signal<this, string[]>(this);
}
