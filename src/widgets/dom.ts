/**
 * Re-render without churn: build the new content off-DOM and swap it in only when it differs,
 * so a click is never lost to a re-render that changed nothing.
 */
export function swapIfChanged(target: HTMLElement, fresh: HTMLElement): boolean {
  if (target.className === fresh.className && target.innerHTML === fresh.innerHTML) {
    return false;
  }
  target.className = fresh.className;
  target.replaceChildren(...Array.from(fresh.childNodes));
  return true;
}
