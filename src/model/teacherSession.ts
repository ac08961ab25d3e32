/**
 * The teacher's side of a notebook's session: start or resume it, push cells, share or lock
 * them, follow the roster; shared cells deleted from the notebook leave the session too.
 */
import { Cell, ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IObservableList } from '@jupyterlab/observables';
import { ServerConnection } from '@jupyterlab/services';

import { endsSession, SyncError } from '../api/errors';
import {
  ICellInfo,
  IProgressMatrix,
  IProgressSnapshot,
  IProgressUpdate,
  IRosterStudent,
  IRosterUpdate,
  ISessionResumed,
  Outputs,
  ServerMessage
} from '../api/messages';
import { HelpQueue } from '../logic/help';
import { applyProgressUpdate, decodeProgress } from '../logic/progress';
import { applyRosterUpdate } from '../logic/roster';
import {
  ICellSnapshot,
  IMove,
  matchMoves,
  needsReorder,
  renameKey,
  serverOrder,
  sharedOrder
} from '../logic/order';
import { toOutputs } from '../logic/outputs';
import { DEFAULT_SETTINGS, ISyncSettings } from '../logic/settings';
import { SyncMemory } from '../logic/storage';
import type * as Y from 'yjs';

import { AutoPush } from './autoPush';
import { BaseSession, INTERACTIVE_TIMEOUT_MS } from './baseSession';
import { cellContent, cellIds, findCell, findCellModel } from './notebookEdit';

/** What the teacher knows about one of their cells. */
export interface ITeacherCell {
  shared: boolean;
  pushedSeq: number;
  pushedSource: string | null;
  pushing: boolean;
  /** The teacher's choice of "Share outputs" for this cell (null: the settings' default). */
  shareOutputs: boolean | null;
  /** The outputs last sent (JSON), null when none are shared. */
  pushedOutputs: string | null;
  /** The cell's type and text when last seen in the notebook (to tell a cut and paste). */
  cellType: string;
  lastSource: string;
}

/** How long after the last change of the cells list the order is sent (`reorder_cells`). */
export const ORDER_DELAY_MS = 250;
/** How long a shared cell may be out of the notebook before it is removed from the session:
 * a cell pasted back meanwhile with the same type and text is a move (`move_cell`). */
export const MOVE_WINDOW_MS = 1500;

/** A code cell's outputs as nbformat JSON; null for any other cell. */
function outputsOf(model: ICellModel): Outputs | null {
  if (model.type !== 'code') {
    return null;
  }
  return toOutputs((model as ICodeCellModel).outputs.toJSON());
}

/** What a teacher's tab is told when another tab pushed text this separate copy lacks. */
export const OTHER_TAB_PUSHED =
  'This notebook is open in another tab too, and that tab pushed cells this copy does not ' +
  'have. Without real-time collaboration each tab is its own copy: close this tab, or save ' +
  'the other one and reload this notebook from disk.';

/** A cell's source as the Yjs text it is (JupyterLab's shared cell models are Yjs-backed), to
 * tell this tab's own edits from those arriving through the shared model. */
function sourceText(model: ICellModel): Y.Text | null {
  const ysource = (model.sharedModel as { ysource?: Y.Text }).ysource;
  return ysource && typeof ysource.observe === 'function' ? ysource : null;
}

export class TeacherSession extends BaseSession {
  readonly role = 'teacher';
  teacherKey = '';
  /** Every student (the last full `roster_update` with every delta since merged in). */
  roster: IRosterStudent[] = [];
  /** The open help requests of the students, oldest first (`help_queue`, `help_update`). */
  readonly helpQueue = new HelpQueue();
  /** Students × shared cells (`progress_snapshot`, then `progress_update`); null until known. */
  progress: IProgressMatrix | null = null;

  constructor(
    panel: NotebookPanel,
    memory: SyncMemory,
    serverSettings?: ServerConnection.ISettings
  ) {
    super(panel, memory, serverSettings);
    NotebookActions.executed.connect(this._onExecuted, this);
    panel.content.model?.cells.changed.connect(this._onCellsListChanged, this);
    this._knownIds = new Set(cellIds(panel.content));
  }

  /** Start a new session for this notebook. */
  async start(title: string): Promise<void> {
    this.status = 'starting';
    await this.connection.connect(INTERACTIVE_TIMEOUT_MS);
    const reply = await this.connection.request({
      type: 'create_session',
      title
    });
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
    void this._watchProgress();
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
    if (!model) {
      return false;
    }
    if (model.sharedModel.getSource() !== state.pushedSource) {
      return true;
    }
    if (state.shared && this.sharesOutputs(cellId)) {
      return this._outputsJSON(model) !== (state.pushedOutputs ?? '[]');
    }
    return false;
  }

  /** A code cell's outputs as JSON, kept until they change (the bars ask often). */
  private _outputsJSON(model: ICellModel): string {
    let json = this._outputsCache.get(model);
    if (json === undefined) {
      json = JSON.stringify(outputsOf(model) ?? []);
      if (this._watched.has(model)) {
        this._outputsCache.set(model, json);
      }
    }
    return json;
  }

  /** Does a push of this cell send its outputs ("Share outputs": the cell's, else the
   * default)? Only code cells have outputs. */
  sharesOutputs(cellId: string): boolean {
    const model = findCellModel(this.panel, cellId);
    if (!model || model.type !== 'code') {
      return false;
    }
    return this._cells.get(cellId)?.shareOutputs ?? this._settings.shareOutputs;
  }

  /**
   * Turn "Share outputs" on or off for a cell. A pushed, unlocked cell is sent again at once:
   * with its outputs, or with `share_outputs: false` (its text as last pushed).
   */
  async setShareOutputs(cellId: string, share: boolean): Promise<void> {
    const state = this._state(cellId);
    state.shareOutputs = share;
    this.memory.setShareOutputs(this.path, cellId, share);
    this.emitChanged([cellId]);
    if (state.pushedSeq === 0 || !state.shared) {
      return; // sent with the next push (never for a locked cell)
    }
    if (share) {
      await this.push(cellId);
      return;
    }
    const model = findCellModel(this.panel, cellId);
    if (!model) {
      return;
    }
    const content = cellContent(model);
    const ack = await this.connection.request({
      type: 'push_cell',
      cell_id: cellId,
      content: { ...content, source: state.pushedSource ?? content.source },
      share_outputs: false
    });
    state.pushedSeq = ack.seq;
    state.pushedOutputs = null;
    this.emitChanged([cellId]);
  }

  /** Push a cell's current content; pushing shares it. */
  async push(cellId: string): Promise<number> {
    const found = findCell(this.panel.content, cellId);
    if (!found) {
      throw new SyncError('cell_not_found', 'No such cell in this notebook');
    }
    const state = this._state(cellId);
    const model = found.cell.model;
    const content = cellContent(model);
    // Never the outputs of a locked cell (the server refuses them too).
    const locked = state.pushedSeq > 0 && !state.shared;
    const outputs =
      !locked && this.sharesOutputs(cellId) ? outputsOf(model) : null;
    if (outputs) {
      content.outputs = outputs;
    }
    const first = state.pushedSeq === 0;
    state.pushing = true;
    this.emitChanged([cellId]);
    try {
      // Only a new cell says where it goes: the order of the others is `reorder_cells`'s.
      const ack = await this.connection.request({
        type: 'push_cell',
        cell_id: cellId,
        content,
        metadata: { sync_allowed: true },
        ...(first ? { index: found.index } : {})
      });
      state.shared = true;
      state.pushedSeq = ack.seq;
      state.pushedSource = content.source;
      state.cellType = model.type;
      state.lastSource = content.source;
      if (outputs) {
        state.pushedOutputs = JSON.stringify(outputs);
      }
      if (first) {
        this._serverIndex.set(cellId, found.index);
        this._scheduleOrder();
      }
      this._watch(model);
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
    await this.connection.request({
      type: 'toggle_sync',
      cell_id: cellId,
      sync_allowed: shared
    });
    state.shared = shared;
    this.emitChanged([cellId]);
    if (shared && this.isDirty(cellId)) {
      await this.push(cellId);
    }
  }

  /** The current text of one of the teacher's cells (null: not in this notebook). */
  source(cellId: string): string | null {
    const model = findCellModel(this.panel, cellId);
    return model ? model.sharedModel.getSource() : null;
  }

  /** Answer a student's help request: a note, a suggested source, and/or resolve it. */
  async answerHelp(
    studentId: string,
    cellId: string,
    answer: { note?: string; source?: string; resolve?: boolean }
  ): Promise<void> {
    const reply = await this.connection.request({
      type: 'help_answer',
      student_id: studentId,
      cell_id: cellId,
      ...answer
    });
    this.helpQueue.update(reply.student_id, reply.cell_id, reply.request);
    this.emitChanged([cellId]);
  }

  updateSettings(settings: ISyncSettings): void {
    this._autoPush.settings = settings;
    const before = this._settings.shareOutputs;
    this._settings = settings;
    if (before !== settings.shareOutputs) {
      this.emitChanged(this.allCellIds());
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    NotebookActions.executed.disconnect(this._onExecuted, this);
    this._autoPush.dispose();
    if (this._orderTimer) {
      clearTimeout(this._orderTimer);
    }
    super.dispose();
  }

  protected async onOpen(): Promise<void> {
    if (!this.code || !this.teacherKey) {
      return; // a new session: start() sends create_session
    }
    let reply: ISessionResumed;
    try {
      reply = await this.connection.request({
        type: 'resume_session',
        session_code: this.code,
        teacher_key: this.teacherKey
      });
    } catch (err) {
      if (endsSession(err)) {
        this.memory.clearTeacher(this.path);
        this.lastError = err.message;
        this.endLocally('ended');
      }
      throw err;
    }
    this.title = reply.title;
    this.mode = reply.mode;
    if (reply.status === 'ended') {
      this.memory.clearTeacher(this.path);
      this.endLocally('ended');
      return;
    }
    this.status = 'active';
    (reply.cells || []).forEach(info => this._resumeCell(info));
    this._knownIds = new Set(cellIds(this.panel.content));
    this.lastError = '';
    this.emitChanged(this.allCellIds());
    // Not awaited: the connection is only ready once this handler returns.
    setTimeout(() => void this._watchProgress(), 0);
  }

  protected handleEvent(msg: ServerMessage): void {
    switch (msg.type) {
      case 'roster_update':
        this._mergeRoster(msg);
        break;
      case 'help_queue': {
        const before = this.helpQueue.ordered().map(r => r.cell_id);
        this.helpQueue.load(msg.requests || []);
        const after = this.helpQueue.ordered().map(r => r.cell_id);
        this.emitChanged([...new Set(before.concat(after))]);
        break;
      }
      case 'progress_snapshot':
        // Sent instead of an update this connection could not apply.
        this._setProgress(msg);
        break;
      case 'progress_update':
        this._mergeProgress(msg);
        break;
      case 'help_update':
        this.helpQueue.update(msg.student_id, msg.cell_id, msg.request);
        this.emitChanged([msg.cell_id]);
        break;
      case 'session_ended':
        this.memory.clearTeacher(this.path);
        this.endLocally('ended');
        break;
      case 'cell_pushed':
        this._pushedElsewhere(msg.cell_id, msg.seq, msg.source);
        break;
      case 'cells_reordered':
        this._setServerOrder(msg.order);
        break;
      case 'cell_moved':
        // Another tab of this teacher sent the move.
        this._renamed({ fromId: msg.from_id, toId: msg.to_id });
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

  /** A `roster_update`: merged into `roster` (a new array: the roster view redraws). One
   * that does not follow what this page holds (never expected) asks for the whole roster
   * again; until it comes, the roster shown is the last one that was right. */
  private _mergeRoster(update: IRosterUpdate): void {
    const merged = applyRosterUpdate(
      { version: this._rosterVersion, students: this.roster },
      update
    );
    if (!merged) {
      if (!this._rosterAsked) {
        void this._askRoster();
      }
      return;
    }
    this.roster = merged.students;
    this._rosterVersion = merged.version;
    this.emitChanged();
  }

  /** Ask for the whole roster (the reply is a full `roster_update`). */
  private async _askRoster(): Promise<void> {
    if (this.status !== 'active') {
      return;
    }
    this._rosterAsked++;
    try {
      this._mergeRoster(await this.connection.request({ type: 'roster' }));
    } catch (err) {
      console.warn('notebook-sync: no roster', err);
    } finally {
      this._rosterAsked--;
    }
  }

  /** Ask for the progress matrix; this connection then gets its updates. */
  private async _watchProgress(): Promise<void> {
    if (this.status !== 'active') {
      return;
    }
    this._progressAsked++;
    try {
      this._setProgress(await this.connection.request({ type: 'progress' }));
    } catch (err) {
      console.warn('notebook-sync: no progress view', err);
    } finally {
      this._progressAsked--;
    }
  }

  private _setProgress(snapshot: IProgressSnapshot): void {
    const matrix = decodeProgress(snapshot);
    const cells = new Set(matrix.cells.concat(this.progress?.cells ?? []));
    this.progress = matrix;
    this.emitChanged([...cells]);
  }

  /** A `progress_update`: merged into `progress`; only the cells it changed are redrawn. One
   * that does not follow what this page holds (never expected) asks for a snapshot again. */
  private _mergeProgress(update: IProgressUpdate): void {
    const applied = this.progress
      ? applyProgressUpdate(this.progress, update)
      : null;
    if (!applied) {
      if (!this._progressAsked) {
        void this._watchProgress();
      }
      return;
    }
    this.progress = applied.matrix;
    this.emitChanged(applied.cells);
  }

  /** A cell the server lists on resume: its state, and its edits followed again. */
  private _resumeCell(info: ICellInfo): void {
    const state = this._state(info.cell_id);
    state.shared = info.sync_allowed !== false;
    state.pushedSeq = Math.max(state.pushedSeq, info.seq);
    // the cell's own "Share outputs" choice, as this browser last made it
    state.shareOutputs ??= this.memory.shareOutputs(this.path, info.cell_id);
    if (typeof info.index === 'number') {
      this._serverIndex.set(info.cell_id, info.index);
    }
    const model = findCellModel(this.panel, info.cell_id);
    if (model) {
      state.cellType = model.type;
      state.lastSource = model.sharedModel.getSource();
      if (state.pushedSource === null) {
        // After a reload we do not know what was pushed; assume the saved text was.
        state.pushedSource = model.sharedModel.getSource();
      }
      this._watch(model);
    }
  }

  /** Another tab of this teacher pushed the cell: this is what the server now holds. */
  private _pushedElsewhere(cellId: string, seq: number, source: string): void {
    const state = this._state(cellId);
    state.shared = true; // a push shares the cell
    state.pushedSeq = Math.max(state.pushedSeq, seq);
    state.pushedSource = source;
    const model = findCellModel(this.panel, cellId);
    if (model) {
      this._watch(model);
      if (!this.collaborative && model.sharedModel.getSource() !== source) {
        this.otherTabWarning = OTHER_TAB_PUSHED;
      }
    }
    this.emitChanged([cellId]);
  }

  private _state(cellId: string): ITeacherCell {
    let state = this._cells.get(cellId);
    if (!state) {
      state = {
        shared: false,
        pushedSeq: 0,
        pushedSource: null,
        pushing: false,
        shareOutputs: null,
        pushedOutputs: null,
        cellType: 'code',
        lastSource: ''
      };
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
    if (model.type === 'code') {
      // A run changes the outputs: the bar says whether they differ from those shared.
      (model as ICodeCellModel).outputs.changed.connect(() => {
        this._outputsCache.delete(model);
        if (this._cells.has(model.id) && !model.isDisposed) {
          this.emitChanged([model.id]);
        }
      }, this);
    }
    const ysource = sourceText(model);
    if (ysource) {
      // Only this tab's own typing starts the edit-pause auto-push: an edit arriving through
      // the shared model (another tab, a co-teacher) is that tab's to push.
      ysource.observe((_event, transaction) => {
        if (transaction.local) {
          this._editedHere(model.id);
        }
      });
    }
  }

  private _onContentChanged(model: ICellModel): void {
    const cellId = model.id;
    const state = this._cells.get(cellId);
    if (!state || this.status !== 'active') {
      return;
    }
    state.lastSource = model.sharedModel.getSource();
    this.emitChanged([cellId]);
    if (!sourceText(model)) {
      this._editedHere(cellId); // no way to tell where an edit came from: treat it as ours
    }
  }

  private _editedHere(cellId: string): void {
    if (this.status === 'active' && this._cells.get(cellId)?.shared) {
      this._autoPush.edited(cellId);
    }
  }

  private _onExecuted(
    _: unknown,
    args: { notebook: unknown; cell: Cell }
  ): void {
    if (args.notebook !== this.panel.content || this.status !== 'active') {
      return;
    }
    const cellId = args.cell.model.id;
    if (this._cells.get(cellId)?.shared) {
      this._autoPush.ran(cellId);
    }
  }

  private _pushIfDirty(cellId: string): void {
    if (this.isDirty(cellId)) {
      this.push(cellId).catch(err => this._backgroundFailed(err));
    }
  }

  /** An automatic push or removal failed: nobody awaits it, so the panel shows it. */
  private _backgroundFailed(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.emitChanged();
  }

  /**
   * The cells list changed (a move, a cut, a paste, a deletion): once it settles, the order of
   * the session's cells is sent if it changed, a shared cell pasted back under a new id is a
   * move, and one gone for good is removed from the session.
   */
  private _onCellsListChanged(
    _: unknown,
    args: IObservableList.IChangedArgs<ICellModel>
  ): void {
    if (this.status !== 'active') {
      return;
    }
    // A cell replaced by a new model with the same id (a change of cell type, a code cell cut
    // and pasted) stays followed.
    for (const model of args.newValues) {
      if (model && this._cells.has(model.id)) {
        this._watch(model);
      }
    }
    // JupyterLab 4 reports a removal with `oldValues` of `undefined` (the models are already
    // disposed): the notebook is compared with what was in it instead, once it settles.
    this._scheduleOrder();
  }

  private _scheduleOrder(delay = ORDER_DELAY_MS): void {
    if (this._orderTimer) {
      clearTimeout(this._orderTimer);
    }
    this._orderTimer = setTimeout(() => {
      this._orderTimer = null;
      void this._syncOrder();
    }, delay);
  }

  /** What the move detection knows of a cell of the notebook. */
  private _snapshot(model: ICellModel): ICellSnapshot {
    return {
      id: model.id,
      cellType: model.type,
      source: model.sharedModel.getSource()
    };
  }

  private async _syncOrder(): Promise<void> {
    if (this.status !== 'active' || this.isDisposed) {
      return;
    }
    if (this._syncing) {
      this._scheduleOrder();
      return;
    }
    const now = Date.now();
    const widgets = this.panel.content.widgets;
    const ids = widgets.map(w => w.model.id);
    const present = new Set(ids);
    for (const widget of widgets) {
      const state = this._cells.get(widget.model.id);
      if (state) {
        state.cellType = widget.model.type;
        state.lastSource = widget.model.sharedModel.getSource();
      }
    }
    for (const id of this._knownIds) {
      if (!present.has(id) && (this._cells.get(id)?.pushedSeq ?? 0) > 0) {
        if (!this._missing.has(id)) {
          this._missing.set(id, now);
        }
      }
    }
    for (const id of [...this._missing.keys()]) {
      if (present.has(id) || !this._cells.has(id)) {
        this._missing.delete(id); // back with its id (a code cell cut and pasted)
      }
    }
    const added = widgets
      .filter(
        w => !this._knownIds.has(w.model.id) && !this._cells.has(w.model.id)
      )
      .map(w => this._snapshot(w.model));
    this._knownIds = present;
    const missing = [...this._missing.keys()].map(id => {
      const state = this._cells.get(id)!;
      return { id, cellType: state.cellType, source: state.lastSource };
    });
    const { moves, unmatched } = matchMoves(missing, added);
    const changed: string[] = [];
    this._syncing = true;
    try {
      for (const move of moves) {
        this._missing.delete(move.fromId);
        await this.connection.request({
          type: 'move_cell',
          from_id: move.fromId,
          to_id: move.toId
        });
        this._renamed(move);
        changed.push(move.fromId, move.toId);
      }
      for (const id of unmatched) {
        if (now - (this._missing.get(id) ?? now) >= MOVE_WINDOW_MS) {
          this._missing.delete(id);
          this._forget(id);
          changed.push(id);
          await this._removeOnServer(id);
        }
      }
      if (!this._missing.size) {
        await this._reorderIfNeeded(ids);
      }
    } catch (err) {
      this._backgroundFailed(err);
    } finally {
      this._syncing = false;
    }
    if (this._missing.size) {
      const oldest = Math.min(...this._missing.values());
      this._scheduleOrder(Math.max(0, oldest + MOVE_WINDOW_MS - Date.now()));
    }
    this.emitChanged(changed);
  }

  /** Send the notebook's order of the session's cells when the server's differs. */
  private async _reorderIfNeeded(ids: string[]): Promise<void> {
    const pushed = (id: string) => (this._cells.get(id)?.pushedSeq ?? 0) > 0;
    const order = sharedOrder(ids, pushed);
    const indexes = new Map(
      [...this._serverIndex].filter(([id]) => pushed(id))
    );
    if (!needsReorder(order, serverOrder(indexes))) {
      return;
    }
    const reply = await this.connection.request({
      type: 'reorder_cells',
      order
    });
    this._setServerOrder(reply.order);
  }

  private _setServerOrder(order: readonly string[]): void {
    this._serverIndex.clear();
    order.forEach((id, position) => this._serverIndex.set(id, position));
  }

  /** A shared cell now has another id (a cut and paste): its state follows it. */
  private _renamed(move: IMove): void {
    const { fromId, toId } = move;
    renameKey(this._cells, fromId, toId);
    renameKey(this._serverIndex, fromId, toId);
    this._missing.delete(fromId);
    const share = this.memory.shareOutputs(this.path, fromId);
    if (share !== null) {
      this.memory.setShareOutputs(this.path, fromId, null);
      this.memory.setShareOutputs(this.path, toId, share);
    }
    const model = findCellModel(this.panel, toId);
    if (model && this._cells.has(toId)) {
      this._watch(model);
    }
    this.emitChanged([fromId, toId]);
  }

  /** A shared cell left the session. */
  /** Tell the server a shared cell is gone from the notebook. In a collaborative notebook
   * every tab of it sees the deletion at once and says so: the server answers the tabs after
   * the first `cell_not_found`, which means the same (the cell is gone), not an error. */
  private async _removeOnServer(cellId: string): Promise<void> {
    try {
      await this.connection.request({ type: 'remove_cell', cell_id: cellId });
    } catch (err) {
      if (!(err instanceof SyncError && err.code === 'cell_not_found')) {
        throw err;
      }
    }
  }

  private _forget(cellId: string): void {
    this._cells.delete(cellId);
    this.memory.setShareOutputs(this.path, cellId, null);
    this._serverIndex.delete(cellId);
  }

  private _cells = new Map<string, ITeacherCell>();
  private _settings: ISyncSettings = { ...DEFAULT_SETTINGS };
  /** The index the server holds for each of the session's cells (its order). */
  private _serverIndex = new Map<string, number>();
  /** The notebook's cell ids when last looked at (to tell new cells). */
  private _knownIds = new Set<string>();
  /** The server's version of `roster` (null: none yet). */
  private _rosterVersion: number | null = null;
  /** `roster` requests in flight (a delta that does not apply asks again, once). */
  private _rosterAsked = 0;
  /** `progress` requests in flight (a delta that does not apply asks again, once). */
  private _progressAsked = 0;
  /** Shared cells out of the notebook, since when (removed once MOVE_WINDOW_MS is over). */
  private _missing = new Map<string, number>();
  private _orderTimer: ReturnType<typeof setTimeout> | null = null;
  private _syncing = false;
  private _watched = new WeakSet<ICellModel>();
  private _outputsCache = new WeakMap<ICellModel, string>();
  private _autoPush = new AutoPush(cellId => this._pushIfDirty(cellId));
}
