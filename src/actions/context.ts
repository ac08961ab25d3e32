/**
 * What the user-facing flows and the widgets work with: the session manager and the
 * translation of user-visible strings; and how errors are told to the user.
 */
import { Notification } from '@jupyterlab/apputils';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { ErrorCode, SyncError } from '../api/errors';
import { ISessionManager } from '../tokens';

/** The gettext domain of this extension's strings. */
export const TRANSLATION_DOMAIN = 'notebook_sync_ydoc';

export interface IActionContext {
  readonly manager: ISessionManager;
  readonly trans: TranslationBundle;
}

export function actionContext(
  manager: ISessionManager,
  translator: ITranslator | null
): IActionContext {
  return {
    manager,
    trans: (translator ?? nullTranslator).load(TRANSLATION_DOMAIN)
  };
}

/** Human wording for error codes shown to teachers and students. */
export function describeError(
  trans: TranslationBundle,
  code: ErrorCode,
  message?: string
): string {
  switch (code) {
    case 'session_not_found':
      return trans.__('No session with that code.');
    case 'session_ended':
      return trans.__('The session has ended.');
    case 'sync_not_allowed':
      return trans.__('The teacher has locked this cell.');
    case 'no_update':
      return trans.__('Nothing new to pull for this cell.');
    case 'rate_limited':
      return trans.__('Too many attempts; wait a moment and try again.');
    case 'forbidden':
      return trans.__('Not allowed.');
    case 'store_unavailable':
      return trans.__(
        'The sync store is unavailable; the change was not saved. Try again.'
      );
    case 'disconnected':
      return trans.__('Not connected to the sync server.');
    case 'timeout':
      return trans.__('The sync server did not answer in time.');
    default:
      return message || code;
  }
}

export function errorText(trans: TranslationBundle, err: unknown): string {
  if (err instanceof SyncError) {
    return describeError(trans, err.code, err.message);
  }
  return err instanceof Error ? err.message : String(err);
}

/** Tell the user that `what` (already translated) failed, and why. */
export function notifyFailure(
  ctx: IActionContext,
  what: string,
  err: unknown
): void {
  Notification.error(ctx.trans.__('%1: %2', what, errorText(ctx.trans, err)), {
    autoClose: 6000
  });
}
