/**
 * Which notebook panel has which session, and which one the panel and status bar show.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';

import { fetchTeaching, ITeaching } from '../api/status';
import { DEFAULT_SETTINGS, ISyncSettings } from '../logic/settings';
import { SyncMemory } from '../logic/storage';
import { ISessionManager, NotebookSession } from '../tokens';
import { cellIds } from './notebookEdit';
import { StudentSession } from './studentSession';
import { TeacherSession } from './teacherSession';

export class SessionManager implements ISessionManager {
  constructor(
    readonly memory: SyncMemory,
    private _serverSettings?: ServerConnection.ISettings
  ) {}

  /** The server's teaching policy and this user as it sees them (null until known, or when
   * the server cannot say). */
  get teaching(): ITeaching | null {
    return this._teaching;
  }

  /** False only when the server said this user may not start sessions. */
  get mayTeach(): boolean {
    return this._teaching?.you.may_teach ?? true;
  }

  /** Ask the server who may teach (at start; the hub's groups are the server's to know). */
  async refreshTeaching(): Promise<void> {
    const teaching = await fetchTeaching(this._serverSettings);
    if (JSON.stringify(teaching) !== JSON.stringify(this._teaching)) {
      this._teaching = teaching;
      this._changed.emit();
    }
  }

  /** Resolves at the first `updateSettings`. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  get changed(): Signal<this, void> {
    return this._changed;
  }

  get cellsChanged(): Signal<
    this,
    { panel: NotebookPanel; cellIds: string[] }
  > {
    return this._cellsChanged;
  }

  get current(): NotebookSession | null {
    return this._currentPanel ? this.get(this._currentPanel) : null;
  }

  get currentPanel(): NotebookPanel | null {
    return this._currentPanel;
  }

  setCurrentPanel(panel: NotebookPanel | null): void {
    if (panel !== this._currentPanel) {
      this._currentPanel = panel;
      this._changed.emit();
    }
  }

  get(panel: NotebookPanel): NotebookSession | null {
    return this._sessions.get(panel) ?? null;
  }

  createTeacher(panel: NotebookPanel): TeacherSession {
    this.drop(panel);
    const session = new TeacherSession(
      panel,
      this.memory,
      this._serverSettings
    );
    session.updateSettings(this._settings);
    this._track(panel, session);
    return session;
  }

  createStudent(panel: NotebookPanel): StudentSession {
    this.drop(panel);
    const session = new StudentSession(
      panel,
      this.memory,
      this._serverSettings
    );
    this._track(panel, session);
    return session;
  }

  drop(panel: NotebookPanel): void {
    const session = this._sessions.get(panel);
    if (session) {
      this._sessions.delete(panel);
      session.dispose();
      this._changed.emit();
      this._cellsChanged.emit({ panel, cellIds: cellIds(panel.content) });
    }
  }

  updateSettings(settings: ISyncSettings): void {
    this._settings = settings;
    for (const session of this._sessions.values()) {
      if (session instanceof TeacherSession) {
        session.updateSettings(settings);
      }
    }
    this._ready.resolve();
  }

  private _track(panel: NotebookPanel, session: NotebookSession): void {
    this._sessions.set(panel, session);
    session.changed.connect(() => this._changed.emit());
    session.cellsChanged.connect((_, cellIds) =>
      this._cellsChanged.emit({ panel, cellIds })
    );
    panel.disposed.connect(() => this.drop(panel));
    this._changed.emit();
  }

  private _teaching: ITeaching | null = null;
  private _settings: ISyncSettings = { ...DEFAULT_SETTINGS };
  private _sessions = new Map<NotebookPanel, NotebookSession>();
  private _currentPanel: NotebookPanel | null = null;
  private _ready = new PromiseDelegate<void>();
  private _changed = new Signal<this, void>(this);
  private _cellsChanged = new Signal<
    this,
    { panel: NotebookPanel; cellIds: string[] }
  >(this);
}
