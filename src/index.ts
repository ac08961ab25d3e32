/**
 * notebook-sync-ydoc: the JupyterLab side of live classroom sessions.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { endSession, joinSession, pullAll, pullCell, pushCell, startSession, toggleShared, restoreSession } from './actions';
import { SyncMemory } from './logic/storage';
import { SessionManager } from './manager';
import { AutoPushMode, browserStorage, StudentSession, TeacherSession } from './session';
import { CellBarTracker } from './widgets/cellBar';
import { FollowPanel } from './widgets/followPanel';
import { SyncSidePanel } from './widgets/sidePanel';
import { SyncStatusItem } from './widgets/statusItem';
import { SyncToolbarItem } from './widgets/toolbar';

const PLUGIN_ID = 'notebook-sync-ydoc:plugin';

namespace CommandIDs {
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

class SyncWidgetExtension implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(
    private _manager: SessionManager,
    private _ready: Promise<void>
  ) {}

  createNew(panel: NotebookPanel, context: DocumentRegistry.IContext<INotebookModel>): IDisposable {
    const item = new SyncToolbarItem(this._manager, panel);
    panel.toolbar.insertAfter('cellType', 'notebook-sync', item);
    // Bars on every cell, and the session remembered for this notebook (after a reload).
    void context.ready.then(() => {
      new CellBarTracker(this._manager, panel);
      return this._ready.then(() => restoreSession(this._manager, panel));
    });
    return new DisposableDelegate(() => item.dispose());
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Live classroom sessions: teachers share cells, students pull and merge them.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry, IStatusBar, ICommandPalette, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    labShell: ILabShell | null
  ) => {
    const manager = new SessionManager(new SyncMemory(browserStorage()), app.serviceManager.serverSettings);

    const loadSettings = settingRegistry
      ? settingRegistry
          .load(PLUGIN_ID)
          .then(settings => {
            const apply = () => {
              manager.updateSettings({
                autoPush: (settings.get('autoPush').composite as AutoPushMode) || 'off',
                autoPushDelayMs: (settings.get('autoPushDelayMs').composite as number) || 2000
              });
            };
            apply();
            settings.changed.connect(apply);
          })
          .catch(reason => console.warn('notebook-sync: settings not loaded', reason))
      : Promise.resolve();

    // Sessions are restored once the app is restored (so dialogs and toasts show) and settings are in.
    const ready = Promise.all([app.restored, loadSettings]).then(() => undefined);
    app.docRegistry.addWidgetExtension('Notebook', new SyncWidgetExtension(manager, ready));

    tracker.currentChanged.connect((_, panel) => manager.setCurrentPanel(panel));
    manager.setCurrentPanel(tracker.currentWidget);

    const followPanel = new FollowPanel(manager, app.serviceManager.serverSettings);
    const panelWidget = new SyncSidePanel(manager, () => app.shell.activateById(followPanel.id));
    app.shell.add(panelWidget, 'right', { rank: 700 });
    app.shell.add(followPanel, 'right', { rank: 701 });

    if (statusBar) {
      const item = new SyncStatusItem(manager, () => app.shell.activateById(panelWidget.id));
      statusBar.registerStatusItem('notebook-sync-ydoc:status', {
        item,
        align: 'left',
        rank: 5,
        isActive: () => !!manager.current
      });
      manager.changed.connect(() => item.update());
    }

    const current = (): NotebookPanel | null => tracker.currentWidget;
    const activeCellId = (): string | null => current()?.content.activeCell?.model.id ?? null;
    const isTeacher = () => {
      const p = current();
      const s = p ? manager.get(p) : null;
      return s instanceof TeacherSession && s.status === 'active';
    };
    const isStudent = () => {
      const p = current();
      const s = p ? manager.get(p) : null;
      return s instanceof StudentSession && s.status === 'active';
    };

    app.commands.addCommand(CommandIDs.start, {
      label: 'Class Session: Start (Teacher)',
      isEnabled: () => !!current(),
      execute: () => {
        const p = current();
        return p ? startSession(manager, p) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.join, {
      label: 'Class Session: Join (Student)',
      isEnabled: () => !!current(),
      execute: () => {
        const p = current();
        return p ? joinSession(manager, p) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.end, {
      label: 'Class Session: End or Leave',
      isEnabled: () => isTeacher() || isStudent(),
      execute: () => {
        const p = current();
        return p ? endSession(manager, p) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.pullAll, {
      label: 'Class Session: Pull All Updates',
      isEnabled: isStudent,
      execute: () => {
        const s = manager.current;
        return s instanceof StudentSession ? pullAll(s) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.pullCell, {
      label: 'Class Session: Pull This Cell',
      isEnabled: isStudent,
      execute: () => {
        const s = manager.current;
        const id = activeCellId();
        return s instanceof StudentSession && id ? pullCell(s, id).then(() => undefined) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.pushCell, {
      label: 'Class Session: Push This Cell',
      isEnabled: isTeacher,
      execute: () => {
        const s = manager.current;
        const id = activeCellId();
        return s instanceof TeacherSession && id ? pushCell(s, id) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.toggleShared, {
      label: 'Class Session: Share or Lock This Cell',
      isEnabled: isTeacher,
      execute: () => {
        const s = manager.current;
        const id = activeCellId();
        return s instanceof TeacherSession && id ? toggleShared(s, id, !s.cell(id)?.shared) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Class Session: Show Panel',
      execute: () => app.shell.activateById(panelWidget.id)
    });
    app.commands.addCommand(CommandIDs.follow, {
      label: 'Class Session: Follow Teacher',
      caption: 'Show the teacher\u2019s shared cells live, read-only, and pull them from there',
      execute: () => app.shell.activateById(followPanel.id)
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Class Session' });
      }
    }
    if (labShell) {
      labShell.currentChanged.connect(() => manager.setCurrentPanel(tracker.currentWidget));
    }
  }
};

export default plugin;
