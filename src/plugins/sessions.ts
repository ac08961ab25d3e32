/**
 * The session manager: one session per notebook panel, the current notebook followed, the
 * settings applied to teacher sessions.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { DEFAULT_SETTINGS, readSettings } from '../logic/settings';
import { SyncMemory } from '../logic/storage';
import { browserStorage } from '../model/browserStorage';
import { SessionManager } from '../model/manager';
import { ISessionManager, NotebookSession } from '../tokens';

/** Also the id of the settings (schema/plugin.json). */
const PLUGIN_ID = 'notebook-sync-ydoc:plugin';

/** Apply the settings now and whenever they change; on failure keep the defaults. */
function followSettings(
  registry: ISettingRegistry,
  manager: ISessionManager
): void {
  registry
    .load(PLUGIN_ID)
    .then(settings => {
      const apply = () =>
        manager.updateSettings(
          readSettings(key => settings.get(key).composite)
        );
      apply();
      settings.changed.connect(apply);
    })
    .catch(reason => {
      console.warn('notebook-sync: settings not loaded', reason);
      manager.updateSettings({ ...DEFAULT_SETTINGS });
    });
}

/** Once per session: this tab is a separate copy of a notebook another tab changed. */
function warnOfOtherTabs(manager: ISessionManager): void {
  const warned = new WeakSet<NotebookSession>();
  manager.changed.connect(() => {
    const session = manager.current;
    if (session?.otherTabWarning && !warned.has(session)) {
      warned.add(session);
      Notification.warning(session.otherTabWarning, { autoClose: false });
    }
  });
}

export const sessionsPlugin: JupyterFrontEndPlugin<ISessionManager> = {
  id: PLUGIN_ID,
  description:
    'Live classroom sessions: teachers share cells, students pull and merge them.',
  autoStart: true,
  provides: ISessionManager,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    labShell: ILabShell | null
  ): ISessionManager => {
    const manager = new SessionManager(
      new SyncMemory(browserStorage()),
      app.serviceManager.serverSettings
    );
    if (settingRegistry) {
      followSettings(settingRegistry, manager);
    } else {
      manager.updateSettings({ ...DEFAULT_SETTINGS });
    }
    tracker.currentChanged.connect((_, panel) =>
      manager.setCurrentPanel(panel)
    );
    manager.setCurrentPanel(tracker.currentWidget);
    void manager.refreshTeaching();
    warnOfOtherTabs(manager);
    labShell?.currentChanged.connect(() =>
      manager.setCurrentPanel(tracker.currentWidget)
    );
    return manager;
  }
};
