/**
 * The body of one cell in the follow view, drawn with JupyterLab's own machinery: a read-only
 * code editor (the notebook's highlighting and theme) for code, the rendermime registry's
 * markdown renderer (math, links, images; untrusted, so sanitized) for markdown, plain text for
 * raw cells, and a placeholder for a locked cell. Created empty; `materialize()` draws it (the
 * list calls it once the cell comes into view), `update()` follows the room.
 */
import { CodeEditor } from '@jupyterlab/codeeditor';
import {
  IRenderMime,
  IRenderMimeRegistry,
  MimeModel
} from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IRoomCell, placeholderLines } from '../../logic/follow';
import { el } from '../dom';
import { FollowOutputs } from './outputs';

/** What the follow view renders cells with (from the application). */
export interface IFollowRenderers {
  /** The notebook's inline editor factory (`IEditorServices.factoryService`). */
  editorFactory: CodeEditor.Factory;
  rendermime: IRenderMimeRegistry;
  /** The mime type of code cells (the notebook's language). */
  codeMimeType(): string;
  trans: TranslationBundle;
  /** Whose view this is: a locked cell says so differently to the teacher. */
  teacherView(): boolean;
}

type Kind = 'placeholder' | 'locked' | 'code' | 'markdown' | 'raw';

function kindOf(cell: IRoomCell): Kind {
  if (cell.locked) {
    return 'locked';
  }
  if (cell.cellType === 'markdown') {
    return 'markdown';
  }
  return cell.cellType === 'code' ? 'code' : 'raw';
}

export class FollowCellBody {
  constructor(private _renderers: IFollowRenderers) {
    this.node = el('div', 'jp-nbsync-follow-body');
  }

  readonly node: HTMLDivElement;

  get materialized(): boolean {
    return this._kind !== 'placeholder';
  }

  /** Follow the room's cell (drawn only once materialized). */
  update(cell: IRoomCell): void {
    this._cell = cell;
    if (!this.materialized) {
      this._placeholder(cell);
      return;
    }
    this._draw(cell);
  }

  /** Draw the cell for real (it came into view). */
  materialize(): void {
    if (!this.materialized && this._cell) {
      this.node.style.minHeight = '';
      this._draw(this._cell);
    }
  }

  dispose(): void {
    this._clear();
    this.node.remove();
  }

  private _placeholder(cell: IRoomCell): void {
    const lines = placeholderLines(cell);
    this.node.style.minHeight = `calc(${lines} * var(--jp-code-line-height) * var(--jp-code-font-size) + 8px)`;
    this.node.dataset.kind = 'placeholder';
  }

  private _draw(cell: IRoomCell): void {
    const kind = kindOf(cell);
    const teacher = this._renderers.teacherView();
    if (
      kind !== this._kind ||
      (kind === 'locked' && teacher !== this._teacher)
    ) {
      this._clear();
      this._kind = kind;
      this._teacher = teacher;
      this.node.dataset.kind = kind;
      this._create(kind);
    }
    switch (kind) {
      case 'code':
        this._setCode(cell.source);
        this._setOutputs(cell);
        break;
      case 'markdown':
        this._setMarkdown(cell.source);
        break;
      case 'raw':
        this.node.firstElementChild!.textContent = cell.source;
        break;
      default:
        break;
    }
  }

  private _create(kind: Kind): void {
    const { trans } = this._renderers;
    switch (kind) {
      case 'locked':
        this.node.appendChild(
          el(
            'div',
            'jp-nbsync-follow-locked',
            this._teacher
              ? trans.__('Locked: students see only this placeholder')
              : trans.__('Locked by the teacher')
          )
        );
        break;
      case 'raw':
        this.node.appendChild(
          el('pre', 'jp-nbsync-follow-source jp-nbsync-follow-raw')
        );
        break;
      case 'code': {
        const host = el(
          'div',
          'jp-nbsync-follow-source jp-nbsync-follow-code jp-InputArea-editor'
        );
        this.node.appendChild(host);
        const model = new CodeEditor.Model({
          mimeType: this._renderers.codeMimeType()
        });
        this._model = model;
        this._editor = this._renderers.editorFactory({
          host,
          model,
          config: { readOnly: true, lineNumbers: false, lineWrap: true }
        });
        break;
      }
      case 'markdown': {
        const renderer =
          this._renderers.rendermime.createRenderer('text/markdown');
        renderer.addClass('jp-nbsync-follow-source');
        renderer.addClass('jp-nbsync-follow-markdown');
        renderer.addClass('jp-MarkdownOutput');
        Widget.attach(renderer, this.node); // attached first: math is typeset only when attached
        this._renderer = renderer;
        break;
      }
      default:
        break;
    }
  }

  private _setCode(source: string): void {
    const model = this._model;
    if (!model) {
      return;
    }
    const mimeType = this._renderers.codeMimeType();
    if (model.mimeType !== mimeType) {
      model.mimeType = mimeType;
    }
    if (model.sharedModel.getSource() !== source) {
      model.sharedModel.setSource(source);
    }
  }

  /** The outputs the teacher shares, under the code (none: nothing shown). */
  private _setOutputs(cell: IRoomCell): void {
    if (!cell.outputs.length && !this._outputs) {
      return;
    }
    if (!this._outputs) {
      this._outputs = new FollowOutputs(this._renderers.rendermime);
      this.node.appendChild(this._outputs.node);
    }
    this._outputs.update(cell.outputs);
  }

  private _setMarkdown(source: string): void {
    const renderer = this._renderer;
    if (!renderer || source === this._rendered) {
      return;
    }
    this._rendered = source;
    const model = new MimeModel({
      data: { 'text/markdown': source },
      trusted: false
    });
    void renderer.renderModel(model).then(() => {
      if (this._renderer === renderer && this._rendered === source) {
        this.node.dataset.rendered = 'true';
      }
    });
  }

  private _clear(): void {
    this._editor?.dispose();
    this._editor = null;
    this._model?.dispose();
    this._model = null;
    this._outputs?.dispose();
    this._outputs = null;
    this._renderer?.dispose();
    this._renderer = null;
    this._rendered = null;
    delete this.node.dataset.rendered;
    this.node.replaceChildren();
  }

  private _cell: IRoomCell | null = null;
  private _kind: Kind = 'placeholder';
  private _teacher = false;
  private _editor: CodeEditor.IEditor | null = null;
  private _model: CodeEditor.Model | null = null;
  private _renderer: IRenderMime.IRenderer | null = null;
  private _rendered: string | null = null;
  private _outputs: FollowOutputs | null = null;
}
