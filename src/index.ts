/**
 * notebook-sync-ydoc: the JupyterLab side of live classroom sessions.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { commandsPlugin } from './plugins/commands';
import { followPanelPlugin } from './plugins/followPanel';
import { notebookPlugin } from './plugins/notebook';
import { sessionsPlugin } from './plugins/sessions';
import { sidePanelPlugin } from './plugins/sidePanel';
import { statusBarPlugin } from './plugins/statusBar';

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  sessionsPlugin,
  notebookPlugin,
  commandsPlugin,
  sidePanelPlugin,
  followPanelPlugin,
  statusBarPlugin
];

export default plugins;
