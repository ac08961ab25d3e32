/**
 * The extension's icons (the classroom one is also the settings icon, see schema/plugin.json).
 */
import { LabIcon } from '@jupyterlab/ui-components';

const CLASSROOM_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M12 3 1 9l11 6 9-4.91V17h2V9L12 3zm-7 9.18v4L12 20l7-3.82v-4L12 16l-7-3.82z"/></svg>';

const FOLLOW_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M12 4.5C7 4.5 2.73 7.61 1 12c1.73 4.39 6 7.5 11 7.5s9.27-3.11 ' +
  '11-7.5c-1.73-4.39-6-7.5-11-7.5zM12 17a5 5 0 1 1 0-10 5 5 0 0 1 0 10zm0-8a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/></svg>';

export const classroomIcon = new LabIcon({
  name: 'notebook-sync-ydoc:classroom',
  svgstr: CLASSROOM_SVG
});

export const followIcon = new LabIcon({
  name: 'notebook-sync-ydoc:follow',
  svgstr: FOLLOW_SVG
});
