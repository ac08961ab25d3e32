/**
 * The dialogs: session code, session title, join, preview, conflict.
 */
import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { ICellContentUpdate, ICellPreview, SyncStatus } from '../api/messages';
import { normaliseCode } from '../logic/storage';
import { renderDiff } from './diffView';
import { el } from './dom';

/** A big session code with a copy button (used in the dialog and the side panel). */
export function renderCode(
  trans: TranslationBundle,
  code: string
): HTMLElement {
  const box = el('div', 'jp-nbsync-code-box');
  const big = el('div', 'jp-nbsync-code', code);
  big.title = trans.__('Session code: students type this to join');
  const copy = el('button', 'jp-mod-styled jp-nbsync-copy', trans.__('Copy'));
  copy.addEventListener('click', () => {
    Clipboard.copyToSystem(code);
    copy.textContent = trans.__('Copied');
    setTimeout(() => (copy.textContent = trans.__('Copy')), 1500);
  });
  box.append(big, copy);
  return box;
}

/** A dialog body of plain DOM nodes. */
function dialogBody(...classes: string[]): Widget {
  const body = new Widget();
  body.addClass('jp-nbsync-dialog');
  classes.forEach(c => body.addClass(c));
  return body;
}

export async function showCodeDialog(
  trans: TranslationBundle,
  code: string,
  title: string
): Promise<void> {
  const body = dialogBody();
  body.node.append(
    el(
      'p',
      '',
      trans.__('Session "%1" started. Students join with this code:', title)
    ),
    renderCode(trans, code),
    el(
      'p',
      'jp-nbsync-help',
      trans.__(
        'Tick "Shared" on a cell (or press Push) to send it to the students.'
      )
    )
  );
  await showDialog({
    title: trans.__('Class session started'),
    body,
    buttons: [Dialog.okButton({ label: trans.__('OK') })]
  });
}

export async function askSessionTitle(
  trans: TranslationBundle,
  defaultTitle: string
): Promise<string | null> {
  const result = await showDialog({
    title: trans.__('Start a class session'),
    body: new TitleBody(trans, defaultTitle),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Start') })
    ],
    focusNodeSelector: 'input'
  });
  return result.button.accept ? result.value : null;
}

/** A labelled text input appended to `parent`. */
function field(
  parent: HTMLElement,
  label: string,
  cls: string,
  value: string
): HTMLInputElement {
  const wrap = el('label', '', label);
  const input = el('input', `jp-mod-styled ${cls}`);
  input.value = value;
  wrap.appendChild(input);
  parent.appendChild(wrap);
  return input;
}

class TitleBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(trans: TranslationBundle, title: string) {
    super();
    this.addClass('jp-nbsync-dialog');
    this._input = field(
      this.node,
      trans.__('Session title'),
      'jp-nbsync-title-input',
      title
    );
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
  constructor(trans: TranslationBundle, name: string) {
    super();
    this.addClass('jp-nbsync-dialog');
    this._code = field(
      this.node,
      trans.__('Session code'),
      'jp-nbsync-join-code',
      ''
    );
    this._code.placeholder = trans.__('e.g. K7PM2Q');
    this._code.autocapitalize = 'characters';
    this._name = field(
      this.node,
      trans.__('Your name'),
      'jp-nbsync-join-name',
      name
    );
    const help = trans.__(
      'Nothing in this notebook changes until you pull a cell. Cells with news from the teacher get a badge.'
    );
    this.node.appendChild(el('p', 'jp-nbsync-help', help));
  }

  getValue(): IJoinValue {
    return {
      code: normaliseCode(this._code.value),
      name: this._name.value.trim()
    };
  }

  private _code: HTMLInputElement;
  private _name: HTMLInputElement;
}

export async function askJoin(
  trans: TranslationBundle,
  defaultName: string
): Promise<IJoinValue | null> {
  const result = await showDialog({
    title: trans.__('Join a class session'),
    body: new JoinBody(trans, defaultName),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Join') })
    ],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept || !result.value || !result.value.code) {
    return null;
  }
  return result.value;
}

export function describeStatus(
  trans: TranslationBundle,
  status: SyncStatus,
  hasLocal: boolean
): string {
  switch (status) {
    case 'fast_forward':
      return hasLocal
        ? trans.__(
            "You have not changed this cell: pulling gives you the teacher's version."
          )
        : trans.__(
            "This cell is new: pulling adds the teacher's version to your notebook."
          );
    case 'merged':
      return trans.__(
        "Your edits and the teacher's changes merge cleanly: pulling keeps both."
      );
    case 'replaced':
      return trans.__("Pulling replaces your text with the teacher's.");
    case 'kept':
      return trans.__('Pulling keeps your text.');
    case 'conflict':
      return trans.__(
        'You and the teacher changed the same lines: pulling asks you which to keep.'
      );
    default:
      return '';
  }
}

/** Preview: mine beside the teacher's. Resolves true when the student chose to pull. */
export async function showPreview(
  trans: TranslationBundle,
  preview: ICellPreview,
  mine: string | null,
  from: 'teacher' | 'suggestion' = 'teacher'
): Promise<boolean> {
  const body = dialogBody('jp-nbsync-preview');
  if (from === 'suggestion') {
    body.addClass('jp-nbsync-suggestion-dialog');
  }
  const status = el(
    'p',
    'jp-nbsync-preview-status',
    describeStatus(trans, preview.status, mine !== null)
  );
  status.dataset.status = preview.status;
  body.node.append(
    status,
    renderDiff(trans, mine ?? '', preview.content.source)
  );
  if (preview.status === 'merged' && typeof preview.source === 'string') {
    const details = el('details');
    details.append(
      el('summary', '', trans.__('What you will have after the pull')),
      el('pre', 'jp-nbsync-preview-result', preview.source)
    );
    body.node.appendChild(details);
  }
  const result = await showDialog({
    title:
      from === 'suggestion'
        ? trans.__('Suggestion from the teacher (for you only)')
        : trans.__('Teacher\u2019s update'),
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Close') }),
      Dialog.okButton({ label: trans.__('Pull') })
    ]
  });
  return result.button.accept;
}

export type ConflictChoice = 'theirs' | 'mine' | null;

/** Conflict: both versions; take the teacher's or keep mine. */
export async function showConflict(
  trans: TranslationBundle,
  reply: ICellContentUpdate,
  mine: string,
  from: 'teacher' | 'suggestion' = 'teacher'
): Promise<ConflictChoice> {
  const body = dialogBody('jp-nbsync-conflict');
  if (from === 'suggestion') {
    body.addClass('jp-nbsync-suggestion-dialog');
  }
  const theirs =
    typeof reply.theirs === 'string' ? reply.theirs : reply.content.source;
  const own = typeof reply.mine === 'string' ? reply.mine : mine;
  body.node.append(
    el(
      'p',
      '',
      trans.__(
        'You and the teacher changed the same lines of this cell. Choose which version to keep.'
      )
    ),
    renderDiff(trans, own, theirs)
  );
  const result = await showDialog({
    title: trans.__('Conflict'),
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Decide later') }),
      Dialog.createButton({
        label: trans.__('Keep mine'),
        accept: true,
        displayType: 'default',
        actions: ['mine']
      }),
      Dialog.okButton({
        label: trans.__('Use teacher\u2019s'),
        actions: ['theirs']
      })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  return result.button.actions.includes('mine') ? 'mine' : 'theirs';
}
