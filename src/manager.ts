/**
 * Which notebook panel has which session, and which one the panel and status bar show.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { SyncMemory } from './logic/storage';
import { DEFAULT_SETTINGS, ISyncSettings, NotebookSession, StudentSession, TeacherSession } from './session';

export class SessionManager {
  constructor(
    readonly memory: SyncMemory,
    private _serverSettings?: ServerConnection.ISettings
  ) {}

  settings: ISyncSettings = { ...DEFAULT_SETTINGS };

  /** A session was created, disposed or changed state; or the current panel changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The per-cell state changed for a panel's session. */
  get cellsChanged(): ISignal<this, { panel: NotebookPanel; cellIds: string[] }> {
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
    const session = new TeacherSession(panel, this.memory, this._serverSettings);
    session.updateSettings(this.settings);
    this._track(panel, session);
    return session;
  }

  createStudent(panel: NotebookPanel): StudentSession {
    this.drop(panel);
    const session = new StudentSession(panel, this.memory, this._serverSettings);
    this._track(panel, session);
    return session;
  }

  /** Forget (and disconnect) a panel's session. */
  drop(panel: NotebookPanel): void {
    const session = this._sessions.get(panel);
    if (session) {
      this._sessions.delete(panel);
      session.dispose();
      this._changed.emit();
      this._cellsChanged.emit({ panel, cellIds: panel.content.widgets.map(w => w.model.id) });
    }
  }

  updateSettings(settings: ISyncSettings): void {
    this.settings = settings;
    for (const session of this._sessions.values()) {
      if (session instanceof TeacherSession) {
        session.updateSettings(settings);
      }
    }
  }

  private _track(panel: NotebookPanel, session: NotebookSession): void {
    this._sessions.set(panel, session);
    session.changed.connect(() => this._changed.emit());
    session.cellsChanged.connect((_, cellIds) => this._cellsChanged.emit({ panel, cellIds }));
    panel.disposed.connect(() => this.drop(panel));
    this._changed.emit();
  }

  private _sessions = new Map<NotebookPanel, NotebookSession>();
  private _currentPanel: NotebookPanel | null = null;
  private _changed = new Signal<this, void>(this);
  private _cellsChanged = new Signal<this, { panel: NotebookPanel; cellIds: string[] }>(this);
}
