/**
 * The teacher's side of a notebook's session: start or resume it, push cells, share or lock
 * them, follow the roster; shared cells deleted from the notebook leave the session too.
 */
import { Cell, ICellModel } from '@jupyterlab/cells';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IObservableList } from '@jupyterlab/observables';
import { ServerConnection } from '@jupyterlab/services';

import { endsSession, SyncError } from '../api/errors';
import {
  ICellInfo,
  IProgressMatrix,
  IRosterStudent,
  ISessionResumed,
  ServerMessage
} from '../api/messages';
import { HelpQueue } from '../logic/help';
import { ISyncSettings } from '../logic/settings';
import { SyncMemory } from '../logic/storage';
import type * as Y from 'yjs';

import { AutoPush } from './autoPush';
import { BaseSession, INTERACTIVE_TIMEOUT_MS } from './baseSession';
import { cellContent, findCell, findCellModel } from './notebookEdit';

/** What the teacher knows about one of their cells. */
export interface ITeacherCell {
  shared: boolean;
  pushedSeq: number;
  pushedSource: string | null;
  pushing: boolean;
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
      const ack = await this.connection.request({
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
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    NotebookActions.executed.disconnect(this._onExecuted, this);
    this._autoPush.dispose();
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
    this.lastError = '';
    this.emitChanged(this.allCellIds());
    // Not awaited: the connection is only ready once this handler returns.
    setTimeout(() => void this._watchProgress(), 0);
  }

  protected handleEvent(msg: ServerMessage): void {
    switch (msg.type) {
      case 'roster_update':
        this.roster = msg.students || [];
        this.emitChanged();
        break;
      case 'help_queue': {
        const before = this.helpQueue.ordered().map(r => r.cell_id);
        this.helpQueue.load(msg.requests || []);
        const after = this.helpQueue.ordered().map(r => r.cell_id);
        this.emitChanged([...new Set(before.concat(after))]);
        break;
      }
      case 'progress_update':
        this._setProgress(msg);
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

  /** Ask for the progress matrix; this connection then gets its updates. */
  private async _watchProgress(): Promise<void> {
    if (this.status !== 'active') {
      return;
    }
    try {
      this._setProgress(await this.connection.request({ type: 'progress' }));
    } catch (err) {
      console.warn('notebook-sync: no progress view', err);
    }
  }

  private _setProgress(matrix: IProgressMatrix): void {
    const cells = new Set(matrix.cells.concat(this.progress?.cells ?? []));
    this.progress = matrix;
    this.emitChanged([...cells]);
  }

  /** A cell the server lists on resume: its state, and its edits followed again. */
  private _resumeCell(info: ICellInfo): void {
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
        pushing: false
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
    if (!this._cells.has(cellId) || this.status !== 'active') {
      return;
    }
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

  /** A shared cell deleted from the notebook is removed from the session too. */
  private _onCellsListChanged(
    _: unknown,
    args: IObservableList.IChangedArgs<ICellModel>
  ): void {
    if (this.status !== 'active') {
      return;
    }
    // A cell replaced by a new model with the same id (a change of cell type) stays followed.
    for (const model of args.newValues) {
      if (model && this._cells.has(model.id)) {
        this._watch(model);
      }
    }
    if (args.type !== 'remove') {
      return;
    }
    // JupyterLab 4 reports a removal with `oldValues` of `undefined` (the models are already
    // disposed), so the pushed cells are checked instead. A move is a remove then an add: only
    // cells still missing afterwards are gone.
    const pushed = [...this._cells]
      .filter(([, state]) => state.pushedSeq > 0)
      .map(([id]) => id);
    if (pushed.length) {
      setTimeout(() => this._removeMissing(pushed), 0);
    }
  }

  private _removeMissing(cellIds: string[]): void {
    for (const id of cellIds) {
      if (!findCell(this.panel.content, id) && this.status === 'active') {
        this._cells.delete(id);
        this.connection
          .request({ type: 'remove_cell', cell_id: id })
          .catch(err => this._backgroundFailed(err));
      }
    }
    this.emitChanged();
  }

  private _cells = new Map<string, ITeacherCell>();
  private _watched = new WeakSet<ICellModel>();
  private _autoPush = new AutoPush(cellId => this._pushIfDirty(cellId));
}
