/**
 * The class panel of a student: the pending updates (Preview, Pull), the teacher cells deleted
 * here (Add again), Pull all, Follow teacher, Leave session.
 */
import {
  previewCell,
  pullAll,
  pullCell,
  restoreMissing
} from '../../actions/cells';
import { IActionContext } from '../../actions/context';
import { endSession } from '../../actions/session';
import { ICellState } from '../../logic/updates';
import { StudentSession } from '../../model/studentSession';
import { el } from '../dom';
import { button } from './common';
import { renderStudentHelpSection } from './studentHelp';

export function renderStudent(
  ctx: IActionContext,
  session: StudentSession,
  node: HTMLElement,
  openFollow?: () => void
): void {
  const { trans } = ctx;
  node.appendChild(
    el(
      'p',
      'jp-nbsync-code-small',
      trans.__(
        'Code %1 · you are %2',
        session.code,
        session.name || trans.__('anonymous')
      )
    )
  );
  const pending = session.tracker.pending();
  node.appendChild(
    el('h3', '', trans.__('Updates from the teacher (%1)', pending.length))
  );
  if (!pending.length) {
    node.appendChild(
      el('p', 'jp-nbsync-help', trans.__('You are up to date.'))
    );
  } else {
    const list = el('ul', 'jp-nbsync-pending');
    list.append(...pending.map(state => pendingItem(ctx, session, state)));
    node.appendChild(list);
  }
  renderStudentHelpSection(ctx, session, node);
  const missing = session.missingCells();
  if (missing.length) {
    node.appendChild(
      el(
        'h3',
        '',
        trans.__('Teacher cells not in your notebook (%1)', missing.length)
      )
    );
    const list = el('ul', 'jp-nbsync-pending jp-nbsync-missing');
    list.append(...missing.map(state => missingItem(ctx, session, state)));
    node.appendChild(list);
  }
  node.appendChild(studentActions(ctx, session, openFollow));
}

/** A cell with an update: its first line, and Preview / Pull (or "locked"). */
function pendingItem(
  ctx: IActionContext,
  session: StudentSession,
  state: ICellState
): HTMLLIElement {
  const { trans } = ctx;
  const item = el('li');
  item.dataset.cellId = state.cellId;
  const local = session.localSource(state.cellId);
  const isNew = local === null;
  const firstLine =
    (local ?? '').split('\n').find(line => line.trim() !== '') ?? '';
  const index = state.teacherIndex + 1;
  let text = isNew
    ? trans.__('New %1 cell #%2', state.cellType, index)
    : trans.__('%1 cell #%2', state.cellType, index);
  if (firstLine) {
    text += ` \u00b7 ${firstLine.trim().slice(0, 32)}`;
  }
  const label = el('span', 'jp-nbsync-pending-label', text);
  label.title = firstLine;
  item.appendChild(label);
  if (!state.syncAllowed) {
    item.appendChild(el('span', 'jp-nbsync-locked-badge', trans.__('locked')));
    return item;
  }
  const preview = el(
    'button',
    'jp-nbsync-button jp-nbsync-preview-button',
    trans.__('Preview')
  );
  preview.addEventListener(
    'click',
    () => void previewCell(ctx, session, state.cellId)
  );
  const pull = el(
    'button',
    'jp-nbsync-button jp-nbsync-pull',
    isNew ? trans.__('Add') : trans.__('Pull')
  );
  pull.addEventListener(
    'click',
    () => void pullCell(ctx, session, state.cellId)
  );
  item.append(preview, pull);
  return item;
}

/** A teacher cell pulled before and deleted since, with "Add again". */
function missingItem(
  ctx: IActionContext,
  session: StudentSession,
  state: ICellState
): HTMLLIElement {
  const { trans } = ctx;
  const item = el('li');
  item.dataset.cellId = state.cellId;
  item.appendChild(
    el(
      'span',
      'jp-nbsync-pending-label',
      trans.__('%1 cell #%2', state.cellType, state.teacherIndex + 1)
    )
  );
  const add = el(
    'button',
    'jp-nbsync-button jp-nbsync-restore',
    trans.__('Add again')
  );
  add.title = trans.__(
    'Add the teacher\u2019s current version of this cell back to your notebook'
  );
  add.addEventListener(
    'click',
    () => void restoreMissing(ctx, session, state.cellId)
  );
  item.appendChild(add);
  return item;
}

function studentActions(
  ctx: IActionContext,
  session: StudentSession,
  openFollow?: () => void
): HTMLElement {
  const { trans } = ctx;
  const actions = el('div', 'jp-nbsync-actions');
  const all = button(
    trans.__('Pull all'),
    'jp-nbsync-pull-all',
    () => void pullAll(ctx, session),
    true
  );
  all.disabled = session.tracker.pullable().length === 0;
  actions.appendChild(all);
  if (openFollow) {
    const follow = button(
      trans.__('Follow teacher'),
      'jp-nbsync-follow-open',
      () => openFollow()
    );
    follow.title = trans.__(
      'Watch the teacher\u2019s shared cells live and pull them from there'
    );
    actions.appendChild(follow);
  }
  actions.appendChild(
    button(
      trans.__('Leave session'),
      'jp-nbsync-leave',
      () => void endSession(ctx, session.panel)
    )
  );
  return actions;
}
