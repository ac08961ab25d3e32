/**
 * The status bar item: the current notebook's session code and connection; a click opens the
 * class session panel.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';

import { actionContext } from '../actions/context';
import { CommandIDs, ISessionManager } from '../tokens';
import { SyncStatusItem } from '../widgets/statusItem';

export const statusBarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-sync-ydoc:status-bar',
  description: "The status bar item of the current notebook's class session.",
  autoStart: true,
  requires: [ISessionManager],
  optional: [IStatusBar, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    manager: ISessionManager,
    statusBar: IStatusBar | null,
    translator: ITranslator | null
  ) => {
    if (!statusBar) {
      return;
    }
    const item = new SyncStatusItem(
      actionContext(manager, translator),
      () => void app.commands.execute(CommandIDs.openPanel)
    );
    statusBar.registerStatusItem('notebook-sync-ydoc:status', {
      item,
      align: 'left',
      rank: 5,
      isActive: () => !!manager.current
    });
    manager.changed.connect(() => item.update());
  }
};
