/**
 * `GET /notebook-sync/status`, the part the frontend reads: who may teach, and the caller as
 * the server sees them (JupyterHub user and groups).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** `status.teaching` (notebook_sync_ydoc/transport/status.py). */
export interface ITeaching {
  /** "anyone may start sessions", or who may. */
  policy: string;
  teacher_users: string[];
  teacher_groups: string[];
  /** `named` false: jupyter_server's anonymous user of a shared token (no JupyterHub). */
  you: { user: string; named?: boolean; groups: string[]; may_teach: boolean };
}

/** The server's teaching policy and the caller; null when the server cannot say (an older
 * server, or it is unreachable): then the frontend offers everything and the server decides. */
export async function fetchTeaching(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<ITeaching | null> {
  const url = URLExt.join(settings.baseUrl, 'notebook-sync', 'status');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, {}, settings);
  } catch (reason) {
    console.warn('notebook-sync: the server status is unreachable', reason);
    return null;
  }
  if (!response.ok) {
    console.warn(
      `notebook-sync: the server status answered ${response.status}`
    );
    return null;
  }
  const body = (await response.json()) as { teaching?: ITeaching };
  const teaching = body.teaching;
  return teaching && typeof teaching.you?.may_teach === 'boolean'
    ? teaching
    : null;
}
