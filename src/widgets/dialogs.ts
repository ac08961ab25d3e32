/**
 * The dialogs: session code, join, preview, conflict.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { normaliseCode } from '../logic/storage';
import { ICellContentUpdate, ICellPreview, SyncStatus } from '../protocol';
import { renderDiff } from './diffView';

/** A big session code with a copy button (used in the dialog and the side panel). */
export function renderCode(code: string): HTMLElement {
  const box = document.createElement('div');
  box.className = 'jp-nbsync-code-box';
  const big = document.createElement('div');
  big.className = 'jp-nbsync-code';
  big.textContent = code;
  big.title = 'Session code: students type this to join';
  const copy = document.createElement('button');
  copy.className = 'jp-mod-styled jp-nbsync-copy';
  copy.textContent = 'Copy';
  copy.addEventListener('click', () => {
    Clipboard.copyToSystem(code);
    copy.textContent = 'Copied';
    setTimeout(() => (copy.textContent = 'Copy'), 1500);
  });
  box.append(big, copy);
  return box;
}

export async function showCodeDialog(code: string, title: string): Promise<void> {
  const body = new Widget();
  body.addClass('jp-nbsync-dialog');
  const intro = document.createElement('p');
  intro.textContent = `Session "${title}" started. Students join with this code:`;
  const help = document.createElement('p');
  help.className = 'jp-nbsync-help';
  help.textContent = 'Tick "Shared" on a cell (or press Push) to send it to the students.';
  body.node.append(intro, renderCode(code), help);
  await showDialog({ title: 'Class session started', body, buttons: [Dialog.okButton({ label: 'OK' })] });
}

export async function askSessionTitle(defaultTitle: string): Promise<string | null> {
  const body = new TitleBody(defaultTitle);
  const result = await showDialog({
    title: 'Start a class session',
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Start' })],
    focusNodeSelector: 'input'
  });
  return result.button.accept ? result.value : null;
}

class TitleBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(title: string) {
    super();
    this.addClass('jp-nbsync-dialog');
    const label = document.createElement('label');
    label.textContent = 'Session title';
    this._input = document.createElement('input');
    this._input.className = 'jp-mod-styled jp-nbsync-title-input';
    this._input.value = title;
    label.appendChild(this._input);
    this.node.appendChild(label);
  }

  getValue(): string {
    return this._input.value.trim();
  }

  private _input: HTMLInputElement;
}

export interface IJoinValue {
  code: string;
  name: string;
}

class JoinBody extends Widget implements Dialog.IBodyWidget<IJoinValue> {
  constructor(code: string, name: string) {
    super();
    this.addClass('jp-nbsync-dialog');
    this._code = this._field('Session code', 'jp-nbsync-join-code', code);
    this._code.placeholder = 'e.g. K7PM2Q';
    this._code.autocapitalize = 'characters';
    this._name = this._field('Your name', 'jp-nbsync-join-name', name);
    const help = document.createElement('p');
    help.className = 'jp-nbsync-help';
    help.textContent =
      'Nothing in this notebook changes until you pull a cell. Cells with news from the teacher get a badge.';
    this.node.appendChild(help);
  }

  getValue(): IJoinValue {
    return { code: normaliseCode(this._code.value), name: this._name.value.trim() };
  }

  private _field(label: string, cls: string, value: string): HTMLInputElement {
    const wrap = document.createElement('label');
    wrap.textContent = label;
    const input = document.createElement('input');
    input.className = `jp-mod-styled ${cls}`;
    input.value = value;
    wrap.appendChild(input);
    this.node.appendChild(wrap);
    return input;
  }

  private _code: HTMLInputElement;
  private _name: HTMLInputElement;
}

export async function askJoin(defaultName: string): Promise<IJoinValue | null> {
  const result = await showDialog({
    title: 'Join a class session',
    body: new JoinBody('', defaultName),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Join' })],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept || !result.value || !result.value.code) {
    return null;
  }
  return result.value;
}

export function describeStatus(status: SyncStatus, hasLocal: boolean): string {
  switch (status) {
    case 'fast_forward':
      return hasLocal
        ? "You have not changed this cell: pulling gives you the teacher's version."
        : "This cell is new: pulling adds the teacher's version to your notebook.";
    case 'merged':
      return "Your edits and the teacher's changes merge cleanly: pulling keeps both.";
    case 'replaced':
      return "Pulling replaces your text with the teacher's.";
    case 'kept':
      return 'Pulling keeps your text.';
    case 'conflict':
      return 'You and the teacher changed the same lines: pulling asks you which to keep.';
    default:
      return '';
  }
}

/** Preview: mine beside the teacher's. Resolves true when the student chose to pull. */
export async function showPreview(preview: ICellPreview, mine: string | null): Promise<boolean> {
  const body = new Widget();
  body.addClass('jp-nbsync-dialog');
  body.addClass('jp-nbsync-preview');
  const status = document.createElement('p');
  status.className = 'jp-nbsync-preview-status';
  status.dataset.status = preview.status;
  status.textContent = describeStatus(preview.status, mine !== null);
  body.node.appendChild(status);
  body.node.appendChild(renderDiff(mine ?? '', preview.content.source, 'Mine', "Teacher's"));
  if (preview.status === 'merged' && typeof preview.source === 'string') {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'What you will have after the pull';
    const pre = document.createElement('pre');
    pre.className = 'jp-nbsync-preview-result';
    pre.textContent = preview.source;
    details.append(summary, pre);
    body.node.appendChild(details);
  }
  const result = await showDialog({
    title: 'Teacher\u2019s update',
    body,
    buttons: [Dialog.cancelButton({ label: 'Close' }), Dialog.okButton({ label: 'Pull' })]
  });
  return result.button.accept;
}

export type ConflictChoice = 'theirs' | 'mine' | null;

/** Conflict: both versions; take the teacher's or keep mine. */
export async function showConflict(reply: ICellContentUpdate, mine: string): Promise<ConflictChoice> {
  const body = new Widget();
  body.addClass('jp-nbsync-dialog');
  body.addClass('jp-nbsync-conflict');
  const intro = document.createElement('p');
  intro.textContent =
    'You and the teacher changed the same lines of this cell. Choose which version to keep.';
  body.node.appendChild(intro);
  const theirs = typeof reply.theirs === 'string' ? reply.theirs : reply.content.source;
  const own = typeof reply.mine === 'string' ? reply.mine : mine;
  body.node.appendChild(renderDiff(own, theirs, 'Mine', "Teacher's"));
  const result = await showDialog({
    title: 'Conflict',
    body,
    buttons: [
      Dialog.cancelButton({ label: 'Decide later' }),
      Dialog.createButton({ label: 'Keep mine', accept: true, displayType: 'default', actions: ['mine'] }),
      Dialog.okButton({ label: 'Use teacher\u2019s', actions: ['theirs'] })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  return result.button.actions.includes('mine') ? 'mine' : 'theirs';
}
