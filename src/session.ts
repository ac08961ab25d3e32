/**
 * A notebook's classroom session: the teacher's or the student's side. One per notebook panel.
 */
import { Cell, ICellModel } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IObservableList } from '@jupyterlab/observables';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ConnectionState, SyncConnection } from './connection';
import { IStorageLike, SyncMemory } from './logic/storage';
import { ICellState, UpdateTracker } from './logic/updates';
import {
  cellContent,
  findCell,
  findCellModel,
  insertTeacherCell,
  replaceCellType,
  writeCellSource
} from './notebookEdit';
import {
  ICellContentUpdate,
  ICellPreview,
  IPushAck,
  IRosterStudent,
  ISessionCreated,
  ISessionJoined,
  ISessionResumed,
  ServerMessage,
  SessionMode,
  SyncError
} from './protocol';

export type Role = 'teacher' | 'student';
export type SessionStatus = 'starting' | 'active' | 'ended' | 'left';

export type AutoPushMode = 'off' | 'run' | 'pause' | 'run-and-pause';

export interface ISyncSettings {
  autoPush: AutoPushMode;
  autoPushDelayMs: number;
}

/** How long an interactive start or join waits for the server before saying so. */
const INTERACTIVE_TIMEOUT_MS = 20_000;

export const DEFAULT_SETTINGS: ISyncSettings = { autoPush: 'off', autoPushDelayMs: 2000 };

abstract class BaseSession implements IDisposable {
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

  protected abstract onOpen(): Promise<void>;
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
    return this.panel.content.widgets.map(w => w.model.id);
  }

  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _cellsChanged = new Signal<this, string[]>(this);
}

/** What the teacher knows about one of their cells. */
export interface ITeacherCell {
  shared: boolean;
  pushedSeq: number;
  pushedSource: string | null;
  pushing: boolean;
}

export class TeacherSession extends BaseSession {
  readonly role = 'teacher';
  teacherKey = '';
  roster: IRosterStudent[] = [];
  settings: ISyncSettings = { ...DEFAULT_SETTINGS };

  constructor(panel: NotebookPanel, memory: SyncMemory, serverSettings?: ServerConnection.ISettings) {
    super(panel, memory, serverSettings);
    NotebookActions.executed.connect(this._onExecuted, this);
    panel.content.model?.cells.changed.connect(this._onCellsListChanged, this);
  }

  /** Start a new session for this notebook. */
  async start(title: string): Promise<void> {
    this.status = 'starting';
    await this.connection.connect(INTERACTIVE_TIMEOUT_MS);
    const reply = await this.connection.request<ISessionCreated>({ type: 'create_session', title });
    this.code = reply.session_code;
    this.teacherKey = reply.teacher_key;
    this.title = reply.title;
    this.mode = reply.mode;
    this.status = 'active';
    this.memory.setTeacher(this.path, {
      session_code: this.code,
      teacher_key: this.teacherKey,
      title: this.title
    });
    this.emitChanged(this.allCellIds());
  }

  /** Resume a session remembered for this notebook (after a reload). */
  async resume(code: string, teacherKey: string, title: string): Promise<void> {
    this.code = code;
    this.teacherKey = teacherKey;
    this.title = title;
    this.emitChanged();
    await this.connection.connect();
  }

  async end(): Promise<void> {
    try {
      await this.connection.request({ type: 'end_session' });
    } finally {
      this.memory.clearTeacher(this.path);
      this.endLocally('ended');
    }
  }

  cell(cellId: string): ITeacherCell | undefined {
    return this._cells.get(cellId);
  }

  /** Is the notebook's cell different from what was last pushed? */
  isDirty(cellId: string): boolean {
    const state = this._cells.get(cellId);
    if (!state || state.pushedSource === null) {
      return false;
    }
    const model = findCellModel(this.panel, cellId);
    return !!model && model.sharedModel.getSource() !== state.pushedSource;
  }

  /** Push a cell's current content; pushing shares it. */
  async push(cellId: string): Promise<number> {
    const found = findCell(this.panel.content, cellId);
    if (!found) {
      throw new SyncError('cell_not_found', 'No such cell in this notebook');
    }
    const state = this._state(cellId);
    const content = cellContent(found.cell.model);
    state.pushing = true;
    this.emitChanged([cellId]);
    try {
      const ack = await this.connection.request<IPushAck>({
        type: 'push_cell',
        cell_id: cellId,
        content,
        metadata: { sync_allowed: true },
        index: found.index
      });
      state.shared = true;
      state.pushedSeq = ack.seq;
      state.pushedSource = content.source;
      this._watch(found.cell.model);
      return ack.seq;
    } finally {
      state.pushing = false;
      this.emitChanged([cellId]);
    }
  }

  /** Share or lock a cell (`sync_allowed`). Sharing a never-pushed cell pushes it. */
  async setShared(cellId: string, shared: boolean): Promise<void> {
    const state = this._state(cellId);
    if (state.pushedSeq === 0) {
      if (shared) {
        await this.push(cellId);
      }
      return;
    }
    await this.connection.request({ type: 'toggle_sync', cell_id: cellId, sync_allowed: shared });
    state.shared = shared;
    this.emitChanged([cellId]);
    if (shared && this.isDirty(cellId)) {
      await this.push(cellId);
    }
  }

  updateSettings(settings: ISyncSettings): void {
    this.settings = settings;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    NotebookActions.executed.disconnect(this._onExecuted, this);
    for (const timer of this._timers.values()) {
      clearTimeout(timer);
    }
    this._timers.clear();
    super.dispose();
  }

  protected async onOpen(): Promise<void> {
    if (!this.code || !this.teacherKey) {
      return; // a new session: start() sends create_session
    }
    try {
      const reply = await this.connection.request<ISessionResumed>({
        type: 'resume_session',
        session_code: this.code,
        teacher_key: this.teacherKey
      });
      this.title = reply.title;
      this.mode = reply.mode;
      if (reply.status === 'ended') {
        this.memory.clearTeacher(this.path);
        this.endLocally('ended');
        return;
      }
      this.status = 'active';
      for (const info of reply.cells || []) {
        const state = this._state(info.cell_id);
        state.shared = info.sync_allowed !== false;
        state.pushedSeq = Math.max(state.pushedSeq, info.seq);
        const model = findCellModel(this.panel, info.cell_id);
        if (model) {
          if (state.pushedSource === null) {
            // After a reload we do not know what was pushed; assume the saved text was.
            state.pushedSource = model.sharedModel.getSource();
          }
          this._watch(model);
        }
      }
      this.lastError = '';
      this.emitChanged(this.allCellIds());
    } catch (err) {
      if (err instanceof SyncError && ['session_not_found', 'session_ended', 'forbidden'].includes(err.code)) {
        this.memory.clearTeacher(this.path);
        this.lastError = err.message;
        this.endLocally('ended');
      }
      throw err;
    }
  }

  protected handleEvent(msg: ServerMessage): void {
    switch (msg.type) {
      case 'roster_update':
        this.roster = msg.students || [];
        this.emitChanged();
        break;
      case 'session_ended':
        this.memory.clearTeacher(this.path);
        this.endLocally('ended');
        break;
      case 'sync_allowed_update': {
        const state = this._state(msg.cell_id);
        state.shared = msg.sync_allowed;
        this.emitChanged([msg.cell_id]);
        break;
      }
      default:
        break;
    }
  }

  private _state(cellId: string): ITeacherCell {
    let state = this._cells.get(cellId);
    if (!state) {
      state = { shared: false, pushedSeq: 0, pushedSource: null, pushing: false };
      this._cells.set(cellId, state);
    }
    return state;
  }

  /** Follow a shared cell's edits: dirty marker and the edit-pause auto-push. */
  private _watch(model: ICellModel): void {
    if (this._watched.has(model)) {
      return;
    }
    this._watched.add(model);
    model.contentChanged.connect(this._onContentChanged, this);
  }

  private _onContentChanged(model: ICellModel): void {
    const cellId = model.id;
    const state = this._cells.get(cellId);
    if (!state || this.status !== 'active') {
      return;
    }
    this.emitChanged([cellId]);
    const mode = this.settings.autoPush;
    if (state.shared && (mode === 'pause' || mode === 'run-and-pause')) {
      const previous = this._timers.get(cellId);
      if (previous) {
        clearTimeout(previous);
      }
      this._timers.set(
        cellId,
        setTimeout(() => {
          this._timers.delete(cellId);
          if (this.isDirty(cellId)) {
            this.push(cellId).catch(err => this._autoPushFailed(err));
          }
        }, Math.max(200, this.settings.autoPushDelayMs))
      );
    }
  }

  private _onExecuted(_: unknown, args: { notebook: unknown; cell: Cell }): void {
    if (args.notebook !== this.panel.content || this.status !== 'active') {
      return;
    }
    const mode = this.settings.autoPush;
    const cellId = args.cell.model.id;
    const state = this._cells.get(cellId);
    if ((mode === 'run' || mode === 'run-and-pause') && state?.shared && this.isDirty(cellId)) {
      this.push(cellId).catch(err => this._autoPushFailed(err));
    }
  }

  private _autoPushFailed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.emitChanged();
  }

  /** A shared cell deleted from the notebook is removed from the session too. */
  private _onCellsListChanged(_: unknown, args: IObservableList.IChangedArgs<ICellModel>): void {
    if (this.status !== 'active') {
      return;
    }
    // A cell replaced by a new model with the same id (a change of cell type) stays followed.
    for (const model of args.newValues) {
      if (this._cells.has(model.id)) {
        this._watch(model);
      }
    }
    if (args.type !== 'remove') {
      return;
    }
    const removed = args.oldValues.map(m => m.id).filter(id => (this._cells.get(id)?.pushedSeq ?? 0) > 0);
    if (!removed.length) {
      return;
    }
    // A move is a remove then an add: only cells still missing afterwards are gone.
    setTimeout(() => {
      for (const id of removed) {
        if (!findCell(this.panel.content, id) && this.status === 'active') {
          this._cells.delete(id);
          this.connection.request({ type: 'remove_cell', cell_id: id }).catch(err => this._autoPushFailed(err));
        }
      }
      this.emitChanged();
    }, 0);
  }

  private _cells = new Map<string, ITeacherCell>();
  private _watched = new WeakSet<ICellModel>();
  private _timers = new Map<string, ReturnType<typeof setTimeout>>();
}

/** The outcome of a pull, for the UI. */
export interface IPullResult {
  reply: ICellContentUpdate;
  /** The student's text before the pull (for undo after "replaced"). */
  before: string | null;
}

export class StudentSession extends BaseSession {
  readonly role = 'student';
  studentKey = '';
  studentId = '';
  name = '';
  readonly tracker = new UpdateTracker();

  constructor(panel: NotebookPanel, memory: SyncMemory, serverSettings?: ServerConnection.ISettings) {
    super(panel, memory, serverSettings);
    // A deleted teacher cell shows up as "not in your notebook".
    panel.content.model?.cells.changed.connect(() => this.emitChanged(), this);
  }

  /** Join (or re-join with a stored key). Resolves after session_joined. */
  async join(code: string, name: string, studentKey = '', interactive = true): Promise<void> {
    this.code = code;
    this.name = name;
    this.studentKey = studentKey;
    this.status = 'starting';
    this.emitChanged();
    await this.connection.connect(interactive ? INTERACTIVE_TIMEOUT_MS : undefined);
  }

  async leave(): Promise<void> {
    try {
      await this.connection.request({ type: 'leave_session' });
    } finally {
      this.memory.clearStudentNotebook(this.path);
      this.endLocally('left');
    }
  }

  cellState(cellId: string): ICellState | undefined {
    return this.tracker.get(cellId);
  }

  hasUpdate(cellId: string): boolean {
    return this.tracker.hasUpdate(cellId);
  }

  /** The student's current text of a cell, or null if they do not have it. */
  localSource(cellId: string): string | null {
    const model = findCellModel(this.panel, cellId);
    return model ? model.sharedModel.getSource() : null;
  }

  async preview(cellId: string): Promise<ICellPreview> {
    const local = this.localSource(cellId);
    const msg: { type: string; cell_id: string; local_source?: string } = { type: 'preview', cell_id: cellId };
    if (local !== null) {
      msg.local_source = local;
    }
    return this.connection.request<ICellPreview>(msg);
  }

  /**
   * Pull a cell. A conflict is returned, not applied: the caller asks the student and retries
   * with a strategy.
   */
  async pull(cellId: string, strategy?: 'theirs' | 'mine'): Promise<IPullResult> {
    const before = this.localSource(cellId);
    const msg: { type: string; cell_id: string; local_source?: string; strategy?: string } = {
      type: 'request_sync',
      cell_id: cellId
    };
    if (before !== null) {
      msg.local_source = before;
    }
    if (strategy) {
      msg.strategy = strategy;
    }
    let reply: ICellContentUpdate;
    try {
      reply = await this.connection.request<ICellContentUpdate>(msg);
    } catch (err) {
      if (err instanceof SyncError && err.code === 'sync_not_allowed') {
        this.tracker.setAllowed(cellId, false);
        this.emitChanged([cellId]);
      } else if (err instanceof SyncError && err.code === 'no_update') {
        const state = this.tracker.get(cellId);
        if (state) {
          this.tracker.markPulled(cellId, state.availableSeq);
          this.emitChanged([cellId]);
        }
      }
      throw err;
    }
    if (reply.status !== 'conflict') {
      this._apply(cellId, reply);
      this.tracker.markPulled(cellId, reply.seq);
      this.emitChanged([cellId]);
    }
    return { reply, before };
  }

  /**
   * Teacher cells this student pulled before but no longer has in the notebook (deleted, or a
   * reload of an unsaved notebook), in the teacher's order.
   */
  missingCells(): ICellState[] {
    const present = new Set(this.allCellIds());
    return this.tracker.pulledStates().filter(s => s.syncAllowed && !present.has(s.cellId) && !s.removed);
  }

  /** Put a missing teacher cell back (the teacher's current version, via preview). */
  async restoreMissing(cellId: string): Promise<void> {
    const preview = await this.preview(cellId);
    if (this.localSource(cellId) !== null) {
      return;
    }
    const state = this.tracker.get(cellId);
    insertTeacherCell(
      this.panel,
      cellId,
      preview.content,
      this.tracker.teacherOrder(),
      state ? state.teacherIndex : Number.MAX_SAFE_INTEGER
    );
    this.emitChanged([cellId]);
  }

  /** Put back the text the student had before a pull (undo of "replaced"). */
  restore(cellId: string, text: string): void {
    const model = findCellModel(this.panel, cellId);
    if (model) {
      writeCellSource(model, text);
    }
  }

  protected async onOpen(): Promise<void> {
    if (!this.code) {
      return;
    }
    const msg: { type: string; session_code: string; name: string; student_key?: string } = {
      type: 'join_session',
      session_code: this.code,
      name: this.name
    };
    if (this.studentKey) {
      msg.student_key = this.studentKey;
    }
    let reply: ISessionJoined;
    try {
      reply = await this.connection.request<ISessionJoined>(msg);
    } catch (err) {
      if (err instanceof SyncError && ['session_not_found', 'session_ended', 'forbidden'].includes(err.code)) {
        this.memory.clearStudentNotebook(this.path);
        this.lastError = err.message;
        this.endLocally(err.code === 'session_ended' ? 'ended' : 'left');
      }
      throw err;
    }
    this.code = reply.session_code;
    this.title = reply.title;
    this.mode = reply.mode;
    this.studentId = reply.student_id;
    this.studentKey = reply.student_key;
    this.name = reply.name;
    this.status = 'active';
    this.lastError = '';
    this.tracker.loadCells(reply.cells || []);
    this.memory.setStudent({ session_code: this.code, student_key: this.studentKey, name: this.name });
    this.memory.setStudentNotebook(this.path, this.code);
    this.emitChanged(this.allCellIds().concat((reply.cells || []).map(c => c.cell_id)));
  }

  protected handleEvent(msg: ServerMessage): void {
    switch (msg.type) {
      case 'update_available':
        if (this.tracker.offer(msg)) {
          this.emitChanged([msg.cell_id]);
        }
        break;
      case 'sync_allowed_update':
        this.tracker.setAllowed(msg.cell_id, msg.sync_allowed);
        this.emitChanged([msg.cell_id]);
        break;
      case 'cell_removed':
        this.tracker.markRemoved(msg.cell_id);
        this.emitChanged([msg.cell_id]);
        break;
      case 'session_ended':
        this.memory.clearStudentNotebook(this.path);
        this.endLocally('ended');
        break;
      default:
        break;
    }
  }

  private _apply(cellId: string, reply: ICellContentUpdate): void {
    const model = findCellModel(this.panel, cellId);
    if (model) {
      const type = reply.content.cell_type;
      if (type && type !== model.type && ['code', 'markdown', 'raw'].includes(type)) {
        replaceCellType(this.panel, cellId, type, reply.content.source);
        return;
      }
      writeCellSource(model, reply.content.source);
      return;
    }
    const state = this.tracker.get(cellId);
    insertTeacherCell(
      this.panel,
      cellId,
      reply.content,
      this.tracker.teacherOrder(),
      state ? state.teacherIndex : Number.MAX_SAFE_INTEGER
    );
  }
}

export type NotebookSession = TeacherSession | StudentSession;

export function browserStorage(): IStorageLike {
  try {
    return window.localStorage;
  } catch {
    const map = new Map<string, string>();
    return {
      getItem: k => (map.has(k) ? map.get(k)! : null),
      setItem: (k, v) => void map.set(k, v),
      removeItem: k => void map.delete(k)
    };
  }
}
