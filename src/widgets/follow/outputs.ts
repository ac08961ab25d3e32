/**
 * A follow-view cell's shared outputs, rendered as JupyterLab's output area renders an
 * untrusted notebook's: each output through the rendermime registry, with the safe renderers
 * only (`ensure`), from untrusted models (HTML sanitized, no script run). What the server put
 * in place of an output over its bound is a `display_data` placeholder, shown as any output.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import type { Outputs } from '../../api/messages';
import { outputBundle, sameOutputs } from '../../logic/outputs';
import { el } from '../dom';

export class FollowOutputs {
  constructor(private _rendermime: IRenderMimeRegistry) {
    this.node = el('div', 'jp-nbsync-follow-outputs jp-OutputArea');
  }

  readonly node: HTMLDivElement;

  /** Show these outputs (nothing is redrawn when they did not change). */
  update(outputs: Outputs): void {
    if (sameOutputs(outputs, this._shown)) {
      return;
    }
    this._clear();
    this._shown = outputs;
    this.node.dataset.count = String(outputs.length);
    for (const output of outputs) {
      this._add(output);
    }
  }

  dispose(): void {
    this._clear();
    this.node.remove();
  }

  private _add(output: Outputs[number]): void {
    const bundle = outputBundle(output);
    if (!bundle) {
      return;
    }
    const mimeType = this._rendermime.preferredMimeType(bundle.data, 'ensure');
    if (!mimeType) {
      return;
    }
    const child = el('div', 'jp-OutputArea-child jp-nbsync-follow-output');
    child.dataset.outputType = output.output_type;
    const host = el('div', 'jp-OutputArea-output');
    if (bundle.kind === 'result') {
      host.classList.add('jp-OutputArea-executeResult');
    }
    host.dataset.mimeType = mimeType;
    child.appendChild(host);
    this.node.appendChild(child);
    const renderer = this._rendermime.createRenderer(mimeType);
    Widget.attach(renderer, host);
    this._renderers.push(renderer);
    const model = new MimeModel({
      data: bundle.data,
      metadata: bundle.metadata,
      trusted: false
    });
    void renderer.renderModel(model).catch(reason => {
      console.warn('notebook-sync: an output was not rendered', reason);
    });
  }

  private _clear(): void {
    for (const renderer of this._renderers) {
      renderer.dispose();
    }
    this._renderers = [];
    this._shown = [];
    delete this.node.dataset.count;
    this.node.replaceChildren();
  }

  private _shown: Outputs = [];
  private _renderers: Widget[] = [];
}
