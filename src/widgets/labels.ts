/**
 * The words, translated, for the states the widgets show.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { ConnectionState } from '../api/connection';
import { FollowState } from '../api/followRoom';
import { FollowAction, FollowCellStatus } from '../logic/follow';
import { SessionStatus } from '../model/baseSession';

export function connectionText(
  trans: TranslationBundle,
  state: ConnectionState
): string {
  switch (state) {
    case 'connecting':
      return trans.__('connecting');
    case 'connected':
      return trans.__('connected');
    case 'reconnecting':
      return trans.__('reconnecting');
    case 'signed-out':
      return trans.__('signed out of this server: save, then reload the page');
    case 'closed':
      return trans.__('closed');
  }
}

/** A session's state as the class panel says it ("joining" while it starts). */
export function sessionStatusText(
  trans: TranslationBundle,
  status: SessionStatus
): string {
  switch (status) {
    case 'starting':
      return trans.__('joining');
    case 'active':
      return trans.__('active');
    case 'ended':
      return trans.__('ended');
    case 'left':
      return trans.__('left');
  }
}

/** The follow room's connection, as the Follow teacher panel says it. */
export function followStateText(
  trans: TranslationBundle,
  state: FollowState
): string {
  switch (state) {
    case 'connecting':
      return trans.__('Connecting\u2026');
    case 'live':
      return trans.__('Live');
    case 'reconnecting':
      return trans.__('Reconnecting\u2026');
    case 'failing':
      return trans.__('Cannot reach the follow room (retrying)');
    case 'ended':
      return trans.__('The session has ended.');
    case 'closed':
      return trans.__('Closed by the server.');
  }
}

/** A room cell's state against the student's copy. */
export function followCellText(
  trans: TranslationBundle,
  status: FollowCellStatus
): string {
  switch (status) {
    case 'locked':
      return trans.__('locked');
    case 'new':
      return trans.__('new');
    case 'behind':
      return trans.__('update available');
    case 'missing':
      return trans.__('deleted here');
    case 'current':
      return trans.__('up to date');
    case 'shared':
      return trans.__('shared');
  }
}

/** A Follow teacher cell's button: its label and its tooltip. */
export function followActionText(
  trans: TranslationBundle,
  action: FollowAction,
  availableSeq: number
): { label: string; title: string } {
  if (action === 'restore') {
    return {
      label: trans.__('Add again'),
      title: trans.__(
        'Add the teacher\u2019s current version of this cell back to your notebook'
      )
    };
  }
  return {
    label: action === 'add' ? trans.__('Add') : trans.__('Pull'),
    title: trans.__(
      'Pull the teacher\u2019s version #%1 into your notebook',
      availableSeq
    )
  };
}
