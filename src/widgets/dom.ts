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

export function swapIfChanged(target: HTMLElement, fresh: HTMLElement): boolean {
  const html = fresh.innerHTML;
  if (target.className === fresh.className && rendered.get(target) === html) {
    return false;
  }
  target.className = fresh.className;
  target.replaceChildren(...Array.from(fresh.childNodes));
  rendered.set(target, html);
  return true;
}
