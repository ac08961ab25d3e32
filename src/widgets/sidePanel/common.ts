import { el } from '../dom';

/** A dialog-style button of the class panel. */
export function button(
  label: string,
  cls: string,
  onClick: () => void,
  accept = false
): HTMLButtonElement {
  const b = el(
    'button',
    `jp-mod-styled ${accept ? 'jp-mod-accept' : 'jp-mod-reject'} ${cls}`,
    label
  );
  b.addEventListener('click', onClick);
  return b;
}
