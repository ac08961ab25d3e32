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
