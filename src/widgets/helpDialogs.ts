/**
 * The help dialogs: the student's "Ask for help" (an optional note) and the teacher's answer
 * to a request (the student's text beside the teacher's, a note, a suggested source edited from
 * the student's text, resolve). Everything a student sent is shown as text.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IHelpRequestInfo } from '../api/messages';
import { clampNote, MAX_HELP_NOTE } from '../logic/help';
import { renderDiff } from './diffView';
import { el } from './dom';

/** A labelled textarea appended to `parent`. */
function textArea(
  parent: HTMLElement,
  label: string,
  cls: string,
  value: string,
  maxLength?: number
): HTMLTextAreaElement {
  const wrap = el('label', 'jp-nbsync-help-field', label);
  const area = el('textarea', `jp-mod-styled ${cls}`);
  area.value = value;
  if (maxLength !== undefined) {
    area.maxLength = maxLength;
  }
  wrap.appendChild(area);
  parent.appendChild(wrap);
  return area;
}

class AskBody extends Widget implements Dialog.IBodyWidget<string> {
  constructor(trans: TranslationBundle) {
    super();
    this.addClass('jp-nbsync-dialog');
    this.addClass('jp-nbsync-ask-help');
    this.node.appendChild(
      el(
        'p',
        'jp-nbsync-help',
        trans.__(
          'The teacher sees your current text of this cell and your note; nobody else does.'
        )
      )
    );
    this._note = textArea(
      this.node,
      trans.__('Note (optional, at most %1 characters)', MAX_HELP_NOTE),
      'jp-nbsync-help-note-input',
      '',
      MAX_HELP_NOTE
    );
  }

  getValue(): string {
    return clampNote(this._note.value);
  }

  private _note: HTMLTextAreaElement;
}

/** The student's note for a help request; null when cancelled. */
export async function askHelpNote(
  trans: TranslationBundle
): Promise<string | null> {
  const result = await showDialog({
    title: trans.__('Ask the teacher for help'),
    body: new AskBody(trans),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Ask for help') })
    ],
    focusNodeSelector: 'textarea'
  });
  return result.button.accept ? (result.value ?? '') : null;
}

/** The teacher's answer: what `help_answer` sends (nothing set: nothing to send). */
export interface IHelpAnswerValue {
  note?: string;
  source?: string;
  resolve?: boolean;
}

class AnswerBody
  extends Widget
  implements Dialog.IBodyWidget<IHelpAnswerValue>
{
  constructor(
    trans: TranslationBundle,
    request: IHelpRequestInfo,
    teacherSource: string | null,
    cellLabel: string
  ) {
    super();
    this.addClass('jp-nbsync-dialog');
    this.addClass('jp-nbsync-help-answer');
    const who = el('p', 'jp-nbsync-help-who');
    who.append(
      el('strong', 'jp-nbsync-help-name', request.name || trans.__('anonymous'))
    );
    if (request.user) {
      who.append(' ', el('span', 'jp-nbsync-roster-user', request.user));
    }
    who.append(' \u00b7 ', el('span', 'jp-nbsync-help-cell', cellLabel));
    this.node.appendChild(who);
    if (request.note) {
      this.node.appendChild(
        el('blockquote', 'jp-nbsync-help-request-note', request.note)
      );
    }
    this.node.appendChild(
      renderDiff(trans, request.source, teacherSource ?? '', [
        trans.__('Student\u2019s'),
        trans.__('Yours')
      ])
    );
    this._note = textArea(
      this.node,
      trans.__('Your answer (optional)'),
      'jp-nbsync-answer-note',
      request.answer?.note ?? '',
      MAX_HELP_NOTE
    );
    const suggest = el('label', 'jp-nbsync-help-check');
    this._suggest = el('input', 'jp-nbsync-answer-suggest');
    this._suggest.type = 'checkbox';
    suggest.append(
      this._suggest,
      ` ${trans.__('Suggest an edit (only this student gets it, to preview and pull)')}`
    );
    this.node.appendChild(suggest);
    this._source = textArea(
      this.node,
      trans.__('Suggested source'),
      'jp-nbsync-answer-source',
      request.source
    );
    this._source.rows = Math.min(16, request.source.split('\n').length + 2);
    this._source.spellcheck = false;
    this._source.addEventListener('input', () => {
      this._suggest.checked = this._source.value !== request.source;
    });
    const resolve = el('label', 'jp-nbsync-help-check');
    this._resolve = el('input', 'jp-nbsync-answer-resolve');
    this._resolve.type = 'checkbox';
    resolve.append(
      this._resolve,
      ` ${trans.__('Mark as resolved (leaves the queue)')}`
    );
    this.node.appendChild(resolve);
  }

  getValue(): IHelpAnswerValue {
    const value: IHelpAnswerValue = {};
    const note = clampNote(this._note.value);
    if (note) {
      value.note = note;
    }
    if (this._suggest.checked) {
      value.source = this._source.value;
    }
    if (this._resolve.checked) {
      value.resolve = true;
    }
    return value;
  }

  private _note: HTMLTextAreaElement;
  private _suggest: HTMLInputElement;
  private _source: HTMLTextAreaElement;
  private _resolve: HTMLInputElement;
}

/** The teacher opens a request; null when cancelled or nothing to send. */
export async function showHelpRequest(
  trans: TranslationBundle,
  request: IHelpRequestInfo,
  teacherSource: string | null,
  cellLabel: string
): Promise<IHelpAnswerValue | null> {
  const result = await showDialog({
    title: trans.__('Help request'),
    body: new AnswerBody(trans, request, teacherSource, cellLabel),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Send') })
    ],
    focusNodeSelector: 'textarea'
  });
  const value = result.button.accept ? result.value : null;
  if (!value || (!value.note && value.source === undefined && !value.resolve)) {
    return null;
  }
  return value;
}
