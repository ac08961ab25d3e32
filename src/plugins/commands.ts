/**
 * The commands on the current notebook's session and active cell (also in the palette).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator } from '@jupyterlab/translation';

import { pullAll, pullCell, pushCell, toggleShared } from '../actions/cells';
import { actionContext, IActionContext } from '../actions/context';
import { endSession, joinSession, startSession } from '../actions/session';
import { StudentSession } from '../model/studentSession';
import { TeacherSession } from '../model/teacherSession';
import { CommandIDs, ISessionManager, NotebookSession } from '../tokens';
import { addToPalette } from './palette';

/** The focused notebook, and whether its session is active and whose. */
class Current {
  constructor(
    private _manager: ISessionManager,
    private _tracker: INotebookTracker
  ) {}

  get panel(): NotebookPanel | null {
    return this._tracker.currentWidget;
  }

  get cellId(): string | null {
    return this.panel?.content.activeCell?.model.id ?? null;
  }

  isTeaching(): boolean {
    const session = this._session();
    return session instanceof TeacherSession && session.status === 'active';
  }

  isLearning(): boolean {
    const session = this._session();
    return session instanceof StudentSession && session.status === 'active';
  }

  private _session(): NotebookSession | null {
    const panel = this.panel;
    return panel ? this._manager.get(panel) : null;
  }
}

function addSessionCommands(
  app: JupyterFrontEnd,
  ctx: IActionContext,
  current: Current
): void {
  const { trans } = ctx;
  app.commands.addCommand(CommandIDs.start, {
    label: trans.__('Class Session: Start (Teacher)'),
    isEnabled: () => !!current.panel && ctx.manager.mayTeach,
    isVisible: () => ctx.manager.mayTeach,
    execute: () => {
      const panel = current.panel;
      return panel ? startSession(ctx, panel) : undefined;
    }
  });
  app.commands.addCommand(CommandIDs.join, {
    label: trans.__('Class Session: Join (Student)'),
    isEnabled: () => !!current.panel,
    execute: () => {
      const panel = current.panel;
      return panel ? joinSession(ctx, panel) : undefined;
    }
  });
  app.commands.addCommand(CommandIDs.end, {
    label: trans.__('Class Session: End or Leave'),
    isEnabled: () => current.isTeaching() || current.isLearning(),
    execute: () => {
      const panel = current.panel;
      return panel ? endSession(ctx, panel) : undefined;
    }
  });
}

function addCellCommands(
  app: JupyterFrontEnd,
  ctx: IActionContext,
  current: Current
): void {
  const { manager, trans } = ctx;
  app.commands.addCommand(CommandIDs.pullAll, {
    label: trans.__('Class Session: Pull All Updates'),
    isEnabled: () => current.isLearning(),
    execute: () => {
      const s = manager.current;
      return s instanceof StudentSession ? pullAll(ctx, s) : undefined;
    }
  });
  app.commands.addCommand(CommandIDs.pullCell, {
    label: trans.__('Class Session: Pull This Cell'),
    isEnabled: () => current.isLearning(),
    execute: () => {
      const s = manager.current;
      const id = current.cellId;
      return s instanceof StudentSession && id
        ? pullCell(ctx, s, id).then(() => undefined)
        : undefined;
    }
  });
  app.commands.addCommand(CommandIDs.pushCell, {
    label: trans.__('Class Session: Push This Cell'),
    isEnabled: () => current.isTeaching(),
    execute: () => {
      const s = manager.current;
      const id = current.cellId;
      return s instanceof TeacherSession && id
        ? pushCell(ctx, s, id)
        : undefined;
    }
  });
  app.commands.addCommand(CommandIDs.toggleShared, {
    label: trans.__('Class Session: Share or Lock This Cell'),
    isEnabled: () => current.isTeaching(),
    execute: () => {
      const s = manager.current;
      const id = current.cellId;
      return s instanceof TeacherSession && id
        ? toggleShared(ctx, s, id, !s.cell(id)?.shared)
        : undefined;
    }
  });
}

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-sync-ydoc:commands',
  description:
    'Commands to start, join and end sessions and to push and pull cells.',
  autoStart: true,
  requires: [ISessionManager, INotebookTracker],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    manager: ISessionManager,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const ctx = actionContext(manager, translator);
    const current = new Current(manager, tracker);
    addSessionCommands(app, ctx, current);
    addCellCommands(app, ctx, current);
    addToPalette(palette, ctx.trans, [
      CommandIDs.start,
      CommandIDs.join,
      CommandIDs.end,
      CommandIDs.pullAll,
      CommandIDs.pullCell,
      CommandIDs.pushCell,
      CommandIDs.toggleShared
    ]);
  }
};
