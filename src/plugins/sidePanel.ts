/**
 * The "Class session" side panel (right sidebar) and its command.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator } from '@jupyterlab/translation';

import { actionContext } from '../actions/context';
import { CommandIDs, ISessionManager } from '../tokens';
import { SyncSidePanel } from '../widgets/sidePanel';
import { addToPalette } from './palette';

export const sidePanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-sync-ydoc:side-panel',
  description:
    'The class session panel: the code and roster, or the pending updates.',
  autoStart: true,
  requires: [ISessionManager],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    manager: ISessionManager,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const ctx = actionContext(manager, translator);
    const panel = new SyncSidePanel(
      ctx,
      () => void app.commands.execute(CommandIDs.follow)
    );
    app.shell.add(panel, 'right', { rank: 700 });
    app.commands.addCommand(CommandIDs.openPanel, {
      label: ctx.trans.__('Class Session: Show Panel'),
      execute: () => app.shell.activateById(panel.id)
    });
    addToPalette(palette, ctx.trans, [CommandIDs.openPanel]);
  }
};
