/**
 * Every notebook gets the session toolbar item and a bar on each cell; a reload resumes (or
 * re-joins) the session remembered for the notebook.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator } from '@jupyterlab/translation';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { actionContext, IActionContext } from '../actions/context';
import { restoreSession } from '../actions/session';
import { ISessionManager } from '../tokens';
import { CellBarTracker } from '../widgets/cellBar';
import { SyncToolbarItem } from '../widgets/toolbar';

class SyncWidgetExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(
    private _ctx: IActionContext,
    private _ready: Promise<void>
  ) {}

  createNew(
    panel: NotebookPanel,
    context: DocumentRegistry.IContext<INotebookModel>
  ): IDisposable {
    const item = new SyncToolbarItem(this._ctx, panel);
    panel.toolbar.insertAfter('cellType', 'notebook-sync', item);
    // Bars on every cell, and the session remembered for this notebook (after a reload).
    void context.ready.then(() => {
      new CellBarTracker(this._ctx, panel);
      return this._ready.then(() => restoreSession(this._ctx, panel));
    });
    return new DisposableDelegate(() => item.dispose());
  }
}

export const notebookPlugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-sync-ydoc:notebook',
  description:
    'The class session toolbar item and cell bars of every notebook; a reload resumes its session.',
  autoStart: true,
  requires: [ISessionManager],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    manager: ISessionManager,
    translator: ITranslator | null
  ) => {
    // Sessions are restored once the app is restored (so dialogs and toasts show) and the
    // settings are in.
    const ready = Promise.all([app.restored, manager.ready]).then(
      () => undefined
    );
    const extension = new SyncWidgetExtension(
      actionContext(manager, translator),
      ready
    );
    app.docRegistry.addWidgetExtension('Notebook', extension);
  }
};
