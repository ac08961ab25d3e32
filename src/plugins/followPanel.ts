/**
 * The "Follow teacher" side panel (right sidebar) and its command.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator } from '@jupyterlab/translation';

import { actionContext } from '../actions/context';
import { TeacherSession } from '../model/teacherSession';
import { CommandIDs, ISessionManager } from '../tokens';
import { FollowPanel } from '../widgets/followPanel';
import { addToPalette } from './palette';

export const followPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-sync-ydoc:follow-panel',
  description:
    "The Follow teacher panel: the teacher's shared cells live, read-only.",
  autoStart: true,
  requires: [ISessionManager, IEditorServices, IRenderMimeRegistry],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    manager: ISessionManager,
    editorServices: IEditorServices,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const ctx = actionContext(manager, translator);
    const panel = new FollowPanel(
      ctx,
      {
        editorFactory: editorServices.factoryService.newInlineEditor,
        rendermime
      },
      app.serviceManager.serverSettings
    );
    app.shell.add(panel, 'right', { rank: 701 });
    app.commands.addCommand(CommandIDs.follow, {
      // In a teacher's notebook: the same view of their own session, as students see it.
      label: () =>
        manager.current instanceof TeacherSession
          ? ctx.trans.__('Class Session: What Students See')
          : ctx.trans.__('Class Session: Follow Teacher'),
      caption: ctx.trans.__(
        'Show the teacher\u2019s shared cells live, read-only, and pull them from there'
      ),
      execute: () => app.shell.activateById(panel.id)
    });
    addToPalette(palette, ctx.trans, [CommandIDs.follow]);
  }
};
