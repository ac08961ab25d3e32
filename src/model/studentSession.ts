/**
 * The student's side of a notebook's session: join (or re-join), be told of the teacher's
 * updates, preview and pull cells into their own notebook, put deleted teacher cells back.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';

import { endsSession, SyncError } from '../api/errors';
import {
  ICellContentReply,
  ICellContentUpdate,
  ICellPreview,
  ISessionJoined,
  ServerMessage
} from '../api/messages';
import { applyDelta, fromBase64, textCheck } from '../logic/delta';
import {
  clampNote,
  offerUpdate,
  StudentHelp,
  SuggestionTracker
} from '../logic/help';
import { IPullBase, SyncMemory } from '../logic/storage';
import { ICellState, UpdateTracker } from '../logic/updates';
import { BaseSession, INTERACTIVE_TIMEOUT_MS } from './baseSession';
import {
  findCellModel,
  insertTeacherCell,
  isCellType,
  renameCell,
  replaceCellType,
  writeCellOutputs,
  writeCellSource
} from './notebookEdit';

/** What a student's tab is told when another tab of the same notebook pulled (no RTC). */
export const OTHER_TAB_PULLED =
  'This notebook is open in another tab too, and that tab pulled from the teacher. ' +
  'This tab is a separate copy without that pull: saving here would overwrite it. ' +
  'Close this tab, or save the other one and reload this notebook from disk.';

/** What a pull or preview takes: the teacher's shared cell, or their private suggestion. */
export type PullSource = 'teacher' | 'suggestion';

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
  /** The teacher's private suggestions (answers to help requests), apart from `tracker`. */
  readonly suggestions = new SuggestionTracker();
  /** This student's help requests and the teacher's answers. */
  readonly help = new StudentHelp();

  constructor(
    panel: NotebookPanel,
    memory: SyncMemory,
    serverSettings?: ServerConnection.ISettings
  ) {
    super(panel, memory, serverSettings);
    // A deleted teacher cell shows up as "not in your notebook".
    panel.content.model?.cells.changed.connect(() => this.emitChanged(), this);
  }

  /** Join (or re-join with a stored key). Resolves after session_joined. */
  async join(
    code: string,
    name: string,
    studentKey = '',
    interactive = true
  ): Promise<void> {
    this.code = code;
    this.name = name;
    this.studentKey = studentKey;
    this.status = 'starting';
    this.emitChanged();
    await this.connection.connect(
      interactive ? INTERACTIVE_TIMEOUT_MS : undefined
    );
  }

  async leave(): Promise<void> {
    try {
      await this.connection.request({ type: 'leave_session' });
    } finally {
      this.memory.clearStudentNotebook(this.path);
      this.memory.clearBases(this.code);
      this.memory.clearHelp(this.code);
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

  async preview(
    cellId: string,
    from: PullSource = 'teacher'
  ): Promise<ICellPreview> {
    return this.connection.request({
      type: 'preview',
      cell_id: cellId,
      local_source: this.localSource(cellId) ?? undefined,
      ...(from === 'suggestion' ? { source: from } : {})
    });
  }

  /** Ask the teacher for help on a teacher cell, with the cell's current text. */
  async askHelp(cellId: string, note: string): Promise<void> {
    const text = clampNote(note);
    const ack = await this.connection.request({
      type: 'help_request',
      cell_id: cellId,
      local_source: this.localSource(cellId) ?? '',
      ...(text ? { note: text } : {})
    });
    this.help.asked(cellId, ack.request?.note ?? text);
    this.suggestions.reset(cellId);
    this._helpChanged(cellId);
  }

  async withdrawHelp(cellId: string): Promise<void> {
    try {
      await this.connection.request({ type: 'help_withdraw', cell_id: cellId });
    } catch (err) {
      // Nothing to withdraw (already gone on the server): forget it here too.
      if (!(err instanceof SyncError && err.code === 'cell_not_found')) {
        throw err;
      }
    }
    this.help.withdrawn(cellId);
    this.suggestions.reset(cellId);
    this._helpChanged(cellId);
  }

  /**
   * Pull the teacher's private suggestion for a cell: merged with the student's text (base:
   * the text sent with the request); the shared cell's pulled state is untouched. A conflict
   * is returned, not applied.
   */
  async pullSuggestion(
    cellId: string,
    strategy?: 'theirs' | 'mine'
  ): Promise<IPullResult> {
    const before = this.localSource(cellId);
    let reply: ICellContentUpdate;
    try {
      const wire = await this.connection.request({
        type: 'request_sync',
        cell_id: cellId,
        source: 'suggestion',
        local_source: before ?? undefined,
        strategy
      });
      reply = {
        ...wire,
        content: {
          ...wire.content,
          source: wire.content.source ?? before ?? ''
        }
      };
    } catch (err) {
      if (err instanceof SyncError && err.code === 'no_update') {
        this.suggestions.used(cellId);
        this._helpChanged(cellId);
      }
      throw err;
    }
    if (reply.status !== 'conflict') {
      this._apply(cellId, reply);
      this.suggestions.used(cellId);
      this._helpChanged(cellId);
    }
    return { reply, before };
  }

  /**
   * Pull a cell. A conflict is returned, not applied: the caller asks the student and retries
   * with a strategy. `withOutputs`: the teacher's shared outputs are written into the cell
   * too (not when the student kept their own text: those outputs are not of their code).
   */
  async pull(
    cellId: string,
    strategy?: 'theirs' | 'mine',
    withOutputs = false
  ): Promise<IPullResult> {
    const before = this.localSource(cellId);
    const base = this.memory.getBase(this.code, cellId);
    let reply: ICellContentUpdate;
    try {
      const wire = await this.connection.request({
        type: 'request_sync',
        cell_id: cellId,
        local_source: before ?? undefined,
        strategy,
        base_seq: base ? base.seq : null,
        ...(withOutputs ? { with_outputs: true } : {})
      });
      reply = await this._complete(cellId, wire, base, before);
    } catch (err) {
      this._pullFailed(cellId, err);
      throw err;
    }
    if (reply.status !== 'conflict') {
      this._apply(cellId, reply);
      if (withOutputs && reply.status !== 'kept' && reply.content.outputs) {
        writeCellOutputs(this.panel, cellId, reply.content.outputs);
      }
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
    return this.tracker
      .pulledStates()
      .filter(s => s.syncAllowed && !present.has(s.cellId) && !s.removed);
  }

  /** Put a missing teacher cell back (the teacher's current version, via preview). */
  async restoreMissing(cellId: string): Promise<void> {
    const preview = await this.preview(cellId);
    if (this.localSource(cellId) !== null) {
      return;
    }
    this._insert(cellId, preview);
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
    let reply: ISessionJoined;
    try {
      reply = await this.connection.request({
        type: 'join_session',
        session_code: this.code,
        name: this.name,
        student_key: this.studentKey || undefined
      });
    } catch (err) {
      if (endsSession(err)) {
        this.memory.clearStudentNotebook(this.path);
        this.memory.clearBases(this.code);
        this.memory.clearHelp(this.code);
        this.lastError = err.message;
        this.endLocally(err.code === 'session_ended' ? 'ended' : 'left');
      }
      throw err;
    }
    this._joined(reply);
  }

  protected handleEvent(msg: ServerMessage): void {
    switch (msg.type) {
      case 'update_available':
        // A private update is the teacher's suggestion for this student: never the shared
        // cell's update (its seq counts suggestions, not pushes).
        if (offerUpdate(msg, this.tracker, this.suggestions)) {
          if (msg.private) {
            this._helpChanged(msg.cell_id);
          } else {
            this.emitChanged([msg.cell_id]);
          }
        }
        break;
      case 'help_answered':
        if (this.help.answered(msg)) {
          if (!msg.has_suggestion) {
            this.suggestions.used(msg.cell_id);
          }
          this._helpChanged(msg.cell_id);
        }
        break;
      case 'sync_allowed_update':
        this.tracker.setAllowed(msg.cell_id, msg.sync_allowed);
        this.emitChanged([msg.cell_id]);
        break;
      case 'cell_pulled':
        // Another tab of this student pulled it: the server has it as pulled, and a
        // collaborative notebook already holds it (it came through the shared model).
        this.tracker.markPulled(msg.cell_id, msg.seq);
        if (!this.collaborative) {
          this.otherTabWarning = OTHER_TAB_PULLED;
        }
        this.emitChanged([msg.cell_id]);
        break;
      case 'cells_reordered':
        // The teacher's order: where new cells go, and the order of the panels' lists.
        // Nothing in the student's notebook moves.
        this.tracker.reorder(msg.order);
        this.emitChanged(msg.order);
        break;
      case 'cell_moved':
        this._moved(msg.from_id, msg.to_id, msg.index);
        break;
      case 'cell_removed':
        this.tracker.markRemoved(msg.cell_id);
        this.emitChanged([msg.cell_id]);
        break;
      case 'session_ended':
        this.memory.clearStudentNotebook(this.path);
        this.memory.clearBases(this.code);
        this.memory.clearHelp(this.code);
        this.endLocally('ended');
        break;
      default:
        break;
    }
  }

  private _joined(reply: ISessionJoined): void {
    this.code = reply.session_code;
    this.title = reply.title;
    this.mode = reply.mode;
    this.studentId = reply.student_id;
    this.studentKey = reply.student_key;
    this.name = reply.name;
    this.status = 'active';
    this.lastError = '';
    const cells = reply.cells || [];
    this.tracker.loadCells(cells);
    // After a reload only this browser knows of suggestions already told.
    const kept = this.memory.getHelp(this.code);
    if (kept) {
      this.help.restore(kept.requests);
      this.suggestions.restore(kept.suggestions);
    }
    const helped = this._ownRequests(reply);
    this.memory.setStudent({
      session_code: this.code,
      student_key: this.studentKey,
      name: this.name
    });
    this.memory.setStudentNotebook(this.path, this.code);
    this.emitChanged(
      this.allCellIds().concat(
        cells.map(c => c.cell_id),
        helped
      )
    );
  }

  /**
   * `session_joined`'s help requests (this student's, not resolved): what the server holds.
   * A request this browser kept as open that the server no longer lists was withdrawn
   * (another tab) or resolved (its `help_answered` follows). Returns the cells concerned.
   */
  private _ownRequests(reply: ISessionJoined): string[] {
    if (!reply.help) {
      return []; // a server before this field: what this browser kept stands
    }
    const listed = new Set(reply.help.map(r => r.cell_id));
    const cells: string[] = [];
    for (const entry of this.help.all()) {
      if (entry.open && !listed.has(entry.cellId)) {
        this.help.withdrawn(entry.cellId);
        cells.push(entry.cellId);
      }
    }
    for (const request of reply.help) {
      const known = this.help.get(request.cell_id);
      if (known?.open && known.answers === (request.answer?.seq ?? 0)) {
        continue; // as this browser kept it
      }
      this.help.asked(request.cell_id, request.note);
      if (request.answer) {
        this.help.answered({
          cell_id: request.cell_id,
          note: request.answer.note,
          has_suggestion: request.answer.has_suggestion,
          resolved: request.resolved,
          seq: request.answer.seq,
          answered: request.answer.answered
        });
      }
      cells.push(request.cell_id);
    }
    if (cells.length && this.code) {
      this.memory.setHelp(this.code, {
        requests: this.help.all(),
        suggestions: this.suggestions.snapshot()
      });
    }
    return cells;
  }

  /**
   * A delta-pull reply made whole (`content.source` filled in), and the cell's next base kept
   * (the teacher's text: what the server now holds as this student's base).
   */
  private async _complete(
    cellId: string,
    wire: ICellContentReply,
    base: IPullBase | null,
    before: string | null
  ): Promise<ICellContentUpdate> {
    const { status } = wire;
    if (status === 'conflict') {
      return wire as ICellContentUpdate;
    }
    let theirs: string | null;
    let source = wire.content.source;
    if (wire.delta && base && wire.theirs_delta) {
      theirs = applyDelta(base.text, fromBase64(wire.theirs_delta));
      if (textCheck(theirs) !== wire.theirs_check) {
        // This browser's base is not the server's. The pull is recorded, so a second one
        // would find nothing new: the teacher's text comes from a preview (which changes
        // nothing), and the status still says what to do with it.
        console.warn(`notebook-sync: the kept base of ${cellId} was wrong`);
        theirs = (await this.preview(cellId)).content.source;
      }
      if (status === 'kept') {
        source = before ?? base.text;
      } else if (status !== 'merged') {
        source = theirs;
      }
    } else {
      theirs =
        status === 'merged' || status === 'kept'
          ? (wire.theirs ?? null)
          : (wire.content.source ?? null);
    }
    this.memory.setBase(
      this.code,
      cellId,
      theirs === null ? null : { seq: wire.seq, text: theirs }
    );
    return {
      ...wire,
      content: { ...wire.content, source: source ?? before ?? '' }
    };
  }

  /**
   * The teacher's cell got a new id (a cut and paste in their notebook): what this student
   * pulled of it, its delta-pull base, help request and suggestions are now under `toId`. The
   * student's own copy (a cell with `fromId`) stays where it is with its text and outputs; it
   * takes the new id (the same cell, as the server now knows it), unless the notebook already
   * has a cell with that id.
   */
  private _moved(fromId: string, toId: string, index: number): void {
    this.tracker.rename(fromId, toId, index);
    if (this.code) {
      this.memory.renameBase(this.code, fromId, toId);
    }
    this.help.rename(fromId, toId);
    this.suggestions.rename(fromId, toId);
    if (!findCellModel(this.panel, toId)) {
      renameCell(this.panel, fromId, toId);
    }
    this._helpChanged(toId);
    this.emitChanged([fromId, toId]);
  }

  /** The help state of a cell changed: kept in the browser, shown. */
  private _helpChanged(cellId: string): void {
    if (this.code) {
      this.memory.setHelp(this.code, {
        requests: this.help.all(),
        suggestions: this.suggestions.snapshot()
      });
    }
    this.emitChanged([cellId]);
  }

  /** A refused pull tells something about the cell: locked, or nothing newer to pull. */
  private _pullFailed(cellId: string, err: unknown): void {
    if (!(err instanceof SyncError)) {
      return;
    }
    if (err.code === 'sync_not_allowed') {
      this.tracker.setAllowed(cellId, false);
      this.emitChanged([cellId]);
    } else if (err.code === 'no_update') {
      const state = this.tracker.get(cellId);
      if (state) {
        this.tracker.markPulled(cellId, state.availableSeq);
        this.emitChanged([cellId]);
      }
    }
  }

  private _apply(cellId: string, reply: ICellContentUpdate): void {
    const model = findCellModel(this.panel, cellId);
    if (!model) {
      this._insert(cellId, reply);
      return;
    }
    const type = reply.content.cell_type;
    if (isCellType(type) && type !== model.type) {
      replaceCellType(this.panel, cellId, type, reply.content.source);
      return;
    }
    writeCellSource(model, reply.content.source);
  }

  /** Insert a teacher cell this student does not have, in the teacher's order. */
  private _insert(
    cellId: string,
    reply: ICellContentUpdate | ICellPreview
  ): void {
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
