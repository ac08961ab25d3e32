/**
 * The side panel: session state, the roster (teacher) or the pending updates (student).
 */
import { LabIcon } from '@jupyterlab/ui-components';

import { endSession, joinSession, previewCell, pullAll, pullCell, restoreMissing, startSession } from '../actions';
import { SessionManager } from '../manager';
import { StudentSession, TeacherSession } from '../session';
import { renderCode } from './dialogs';
import { el, RenderedPanel } from './dom';

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<path class="jp-icon3" fill="#616161" d="M12 3 1 9l11 6 9-4.91V17h2V9L12 3zm-7 9.18v4L12 20l7-3.82v-4L12 16l-7-3.82z"/></svg>';

export const classroomIcon = new LabIcon({ name: 'notebook-sync-ydoc:classroom', svgstr: SVG });

function button(label: string, cls: string, onClick: () => void, accept = false): HTMLButtonElement {
  const b = el('button', `jp-mod-styled ${accept ? 'jp-mod-accept' : 'jp-mod-reject'} ${cls}`, label);
  b.addEventListener('click', onClick);
  return b;
}

export class SyncSidePanel extends RenderedPanel {
  constructor(
    private _manager: SessionManager,
    private _openFollow?: () => void
  ) {
    super();
    this.id = 'notebook-sync-panel';
    this.title.icon = classroomIcon;
    this.title.caption = 'Class session';
    this.addClass('jp-nbsync-panel');
    _manager.changed.connect(() => this.scheduleRender(), this);
    _manager.cellsChanged.connect(() => this.scheduleRender(), this);
    this.render();
  }

  protected fill(node: HTMLElement): void {
    node.appendChild(el('h2', 'jp-nbsync-panel-title', 'Class session'));
    const panel = this._manager.currentPanel;
    if (!panel) {
      node.appendChild(el('p', 'jp-nbsync-help', 'Open a notebook to start or join a class session.'));
      return;
    }
    node.appendChild(el('p', 'jp-nbsync-notebook', panel.context.path));
    const session = this._manager.get(panel);
    if (!session || session.status === 'ended' || session.status === 'left') {
      if (session?.status === 'ended') {
        node.appendChild(el('p', 'jp-nbsync-state jp-nbsync-ended', 'The session has ended.'));
      }
      node.appendChild(
        el('p', 'jp-nbsync-help', 'Teachers start a session from this notebook; students join one with its code.')
      );
      const actions = el('div', 'jp-nbsync-actions');
      actions.append(
        button('Start session', 'jp-nbsync-panel-start', () => void startSession(this._manager, panel), true),
        button('Join session', 'jp-nbsync-panel-join', () => void joinSession(this._manager, panel))
      );
      node.appendChild(actions);
      return;
    }
    const state = el('p', 'jp-nbsync-state');
    state.dataset.connection = session.connectionState;
    state.textContent =
      `${session.role === 'teacher' ? 'Teaching' : 'Joined'} "${session.title || session.code}" · ` +
      `${session.status === 'starting' ? 'joining' : session.status} · ${session.connectionState}` +
      (session.mode ? ` · ${session.mode} mode` : '');
    node.appendChild(state);
    if (session.lastError) {
      node.appendChild(el('p', 'jp-nbsync-error', session.lastError));
    }
    if (session instanceof TeacherSession) {
      this._renderTeacher(session, node);
    } else {
      this._renderStudent(session, node);
    }
  }

  private _renderTeacher(session: TeacherSession, node: HTMLElement): void {
    node.appendChild(renderCode(session.code));
    const shared = session.panel.content.widgets.filter(w => session.cell(w.model.id)?.shared).map(w => w.model.id);
    node.appendChild(el('h3', '', `Students (${session.roster.length})`));
    if (!session.roster.length) {
      node.appendChild(el('p', 'jp-nbsync-help', 'No student has joined yet.'));
    } else {
      const table = el('table', 'jp-nbsync-roster');
      const head = table.createTHead().insertRow();
      for (const title of ['', 'Name', 'Up to date']) {
        head.appendChild(el('th', '', title));
      }
      const body = table.createTBody();
      for (const student of session.roster) {
        const row = body.insertRow();
        row.dataset.studentId = student.student_id;
        const dot = el('span', `jp-nbsync-dot ${student.online ? 'jp-mod-online' : 'jp-mod-offline'}`);
        dot.title = student.online ? 'online' : 'offline';
        row.insertCell().appendChild(dot);
        row.insertCell().textContent = student.name;
        const upToDate = shared.filter(id => {
          const pulled = student.pulled?.[id] ?? 0;
          const pushed = session.cell(id)?.pushedSeq ?? 0;
          return pulled >= pushed && pushed > 0;
        }).length;
        const cell = row.insertCell();
        cell.className = 'jp-nbsync-pulled';
        cell.textContent = `${upToDate}/${shared.length} cells`;
        cell.title = Object.entries(student.pulled || {})
          .map(([id, seq]) => `${id.slice(0, 8)}: #${seq}`)
          .join('\n');
      }
      node.appendChild(table);
    }
    node.appendChild(el('p', 'jp-nbsync-help', `${shared.length} shared cell(s).`));
    const actions = el('div', 'jp-nbsync-actions');
    actions.appendChild(
      button('End session', 'jp-nbsync-end', () => void endSession(this._manager, session.panel))
    );
    node.appendChild(actions);
  }

  private _renderStudent(session: StudentSession, node: HTMLElement): void {
    node.appendChild(el('p', 'jp-nbsync-code-small', `Code ${session.code} · you are ${session.name || 'anonymous'}`));
    const pending = session.tracker.pending();
    node.appendChild(el('h3', '', `Updates from the teacher (${pending.length})`));
    if (!pending.length) {
      node.appendChild(el('p', 'jp-nbsync-help', 'You are up to date.'));
    } else {
      const list = el('ul', 'jp-nbsync-pending');
      for (const state of pending) {
        const item = el('li');
        item.dataset.cellId = state.cellId;
        const local = session.localSource(state.cellId);
        const isNew = local === null;
        const firstLine = (local ?? '').split('\n').find(line => line.trim() !== '') ?? '';
        const label = el(
          'span',
          'jp-nbsync-pending-label',
          `${isNew ? 'New ' : ''}${state.cellType} cell #${state.teacherIndex + 1}` +
            (firstLine ? ` \u00b7 ${firstLine.trim().slice(0, 32)}` : '')
        );
        label.title = firstLine;
        item.appendChild(label);
        if (!state.syncAllowed) {
          item.appendChild(el('span', 'jp-nbsync-locked-badge', 'locked'));
        } else {
          const preview = el('button', 'jp-nbsync-button jp-nbsync-preview-button', 'Preview');
          preview.addEventListener('click', () => void previewCell(session, state.cellId));
          const pull = el('button', 'jp-nbsync-button jp-nbsync-pull', isNew ? 'Add' : 'Pull');
          pull.addEventListener('click', () => void pullCell(session, state.cellId));
          item.append(preview, pull);
        }
        list.appendChild(item);
      }
      node.appendChild(list);
    }
    const missing = session.missingCells();
    if (missing.length) {
      node.appendChild(el('h3', '', `Teacher cells not in your notebook (${missing.length})`));
      const list = el('ul', 'jp-nbsync-pending jp-nbsync-missing');
      for (const state of missing) {
        const item = el('li');
        item.dataset.cellId = state.cellId;
        item.appendChild(el('span', 'jp-nbsync-pending-label', `${state.cellType} cell #${state.teacherIndex + 1}`));
        const add = el('button', 'jp-nbsync-button jp-nbsync-restore', 'Add again');
        add.title = 'Add the teacher\u2019s current version of this cell back to your notebook';
        add.addEventListener('click', () => void restoreMissing(session, state.cellId));
        item.appendChild(add);
        list.appendChild(item);
      }
      node.appendChild(list);
    }
    const actions = el('div', 'jp-nbsync-actions');
    const all = button('Pull all', 'jp-nbsync-pull-all', () => void pullAll(session), true);
    all.disabled = session.tracker.pullable().length === 0;
    actions.appendChild(all);
    if (this._openFollow) {
      const open = this._openFollow;
      const follow = button('Follow teacher', 'jp-nbsync-follow-open', () => open());
      follow.title = 'Watch the teacher\u2019s shared cells live and pull them from there';
      actions.appendChild(follow);
    }
    actions.appendChild(button('Leave session', 'jp-nbsync-leave', () => void endSession(this._manager, session.panel)));
    node.appendChild(actions);
  }

}
