/**
 * What the plugins share: the session manager's token and the command ids.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import type { ITeaching } from './api/status';
import type { ISyncSettings } from './logic/settings';
import type { SyncMemory } from './logic/storage';
import type { StudentSession } from './model/studentSession';
import type { TeacherSession } from './model/teacherSession';

export type NotebookSession = TeacherSession | StudentSession;

/** Which notebook panel has which session, and which one the panels and status bar show. */
export interface ISessionManager {
  /** What the browser remembers between reloads (keys, names). */
  readonly memory: SyncMemory;
  /** Resolves once the settings are in: sessions are restored only then. */
  readonly ready: Promise<void>;
  /** A session was created, disposed or changed state; or the current panel changed. */
  readonly changed: ISignal<ISessionManager, void>;
  /** The per-cell state changed for a panel's session. */
  readonly cellsChanged: ISignal<
    ISessionManager,
    { panel: NotebookPanel; cellIds: string[] }
  >;
  /** The server's teaching policy and this user (JupyterHub name, groups); null until known. */
  readonly teaching: ITeaching | null;
  /** False only when the server said this user may not start sessions ("Start" is hidden). */
  readonly mayTeach: boolean;
  /** The session of the current notebook panel. */
  readonly current: NotebookSession | null;
  readonly currentPanel: NotebookPanel | null;
  setCurrentPanel(panel: NotebookPanel | null): void;
  get(panel: NotebookPanel): NotebookSession | null;
  /** A new teacher session for the panel (its previous session is dropped). */
  createTeacher(panel: NotebookPanel): TeacherSession;
  /** A new student session for the panel (its previous session is dropped). */
  createStudent(panel: NotebookPanel): StudentSession;
  /** Forget (and disconnect) a panel's session. */
  drop(panel: NotebookPanel): void;
  updateSettings(settings: ISyncSettings): void;
}

export const ISessionManager = new Token<ISessionManager>(
  'notebook-sync-ydoc:ISessionManager',
  'The classroom sessions of the open notebooks.'
);

export namespace CommandIDs {
  export const start = 'notebook-sync:start-session';
  export const join = 'notebook-sync:join-session';
  export const end = 'notebook-sync:end-session';
  export const pullAll = 'notebook-sync:pull-all';
  export const pullCell = 'notebook-sync:pull-cell';
  export const pushCell = 'notebook-sync:push-cell';
  export const toggleShared = 'notebook-sync:toggle-shared';
  export const openPanel = 'notebook-sync:open-panel';
  export const follow = 'notebook-sync:follow-teacher';
}
