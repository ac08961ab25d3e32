import { Widget } from '@lumino/widgets';

/**
 * Re-render without churn: build the new content off-DOM and swap it in only when it differs
 * from what was rendered last, so a click is never lost to a re-render that changed nothing.
 *
 * The comparison is with the last rendered HTML, not the live DOM: JupyterLab decorates nodes
 * after they are shown (toolbar buttons get `tabindex="-1"`), and comparing with the live DOM
 * made every render swap the buttons, so a click whose mouse-down and mouse-up straddled an
 * unrelated re-render (a roster update) was lost.
 */
const rendered = new WeakMap<HTMLElement, string>();

export function swapIfChanged(
  target: HTMLElement,
  fresh: HTMLElement
): boolean {
  const html = fresh.innerHTML;
  if (target.className === fresh.className && rendered.get(target) === html) {
    return false;
  }
  target.className = fresh.className;
  target.replaceChildren(...Array.from(fresh.childNodes));
  rendered.set(target, html);
  return true;
}

/** An element with an optional class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * A side panel drawn from its state by `fill`: `scheduleRender()` coalesces changes into one
 * render per animation frame, never after disposal, and the DOM is swapped only when it changed.
 */
export abstract class RenderedPanel extends Widget {
  render(): void {
    const fresh = document.createElement('div');
    fresh.className = this.node.className;
    this.fill(fresh);
    swapIfChanged(this.node, fresh);
  }

  protected scheduleRender(): void {
    if (this._pending || this.isDisposed) {
      return;
    }
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      if (!this.isDisposed) {
        this.render();
      }
    });
  }

  protected abstract fill(node: HTMLElement): void;

  private _pending = false;
}

/** Make `target` look like `fresh` (class, attributes, children), keeping the node itself. */
export function morph(target: HTMLElement, fresh: HTMLElement): void {
  if (target.className !== fresh.className) {
    target.className = fresh.className;
  }
  for (const name of target.getAttributeNames()) {
    if (!fresh.hasAttribute(name)) {
      target.removeAttribute(name);
    }
  }
  for (const { name, value } of Array.from(fresh.attributes)) {
    if (target.getAttribute(name) !== value) {
      target.setAttribute(name, value);
    }
  }
  target.replaceChildren(...Array.from(fresh.childNodes));
}

/** An entry of a keyed list: its key, and a signature of everything its node shows. */
export interface IKeyedEntry {
  key: string;
  sig: string;
}

/**
 * The children of `parent`, one node per key, kept across updates: a node whose signature did
 * not change is left alone (its focus, its selection), one that changed is patched in place,
 * a new key inserts one node and a gone one removes its node; the order follows the entries.
 */
export class KeyedNodes<T extends IKeyedEntry> {
  constructor(
    readonly parent: HTMLElement,
    private _build: (entry: T) => HTMLElement
  ) {}

  get(key: string): HTMLElement | undefined {
    return this._nodes.get(key)?.node;
  }

  update(entries: readonly T[]): void {
    const keys = new Set(entries.map(e => e.key));
    for (const [key, { node }] of this._nodes) {
      if (!keys.has(key)) {
        node.remove();
        this._nodes.delete(key);
      }
    }
    let cursor: ChildNode | null = this.parent.firstChild;
    for (const entry of entries) {
      let known = this._nodes.get(entry.key);
      if (!known) {
        known = { node: this._build(entry), sig: entry.sig };
        this._nodes.set(entry.key, known);
      } else if (known.sig !== entry.sig) {
        morph(known.node, this._build(entry));
        known.sig = entry.sig;
      }
      if (known.node === cursor) {
        cursor = cursor.nextSibling;
      } else {
        this.parent.insertBefore(known.node, cursor);
      }
    }
  }

  private _nodes = new Map<string, { node: HTMLElement; sig: string }>();
}

/** Set a node's text only when it differs (no mutation, no layout, for the same text). */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}
