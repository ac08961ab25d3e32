/**
 * Minimal text edits: trim the common prefix and suffix, replace only the middle.
 *
 * Pure functions, no DOM and no JupyterLab imports, so they are unit-tested in node.
 */

/** One replacement: characters [start, end) of the old text become `insert`. */
export interface ITextEdit {
  start: number;
  end: number;
  insert: string;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Compute the single edit turning `oldText` into `newText`, or null when they are equal.
 *
 * Linear time. Never splits a UTF-16 surrogate pair, so an emoji is replaced whole.
 */
export function computeMinimalEdit(
  oldText: string,
  newText: string
): ITextEdit | null {
  if (oldText === newText) {
    return null;
  }
  const maxPrefix = Math.min(oldText.length, newText.length);
  let prefix = 0;
  while (
    prefix < maxPrefix &&
    oldText.charCodeAt(prefix) === newText.charCodeAt(prefix)
  ) {
    prefix++;
  }
  // Do not end the prefix between the halves of a surrogate pair.
  if (prefix > 0 && isHighSurrogate(oldText.charCodeAt(prefix - 1))) {
    prefix--;
  }
  const maxSuffix = Math.min(oldText.length, newText.length) - prefix;
  let suffix = 0;
  while (
    suffix < maxSuffix &&
    oldText.charCodeAt(oldText.length - 1 - suffix) ===
      newText.charCodeAt(newText.length - 1 - suffix)
  ) {
    suffix++;
  }
  // Do not start the suffix on the low half of a surrogate pair.
  if (
    suffix > 0 &&
    isLowSurrogate(oldText.charCodeAt(oldText.length - suffix))
  ) {
    suffix--;
  }
  return {
    start: prefix,
    end: oldText.length - suffix,
    insert: newText.slice(prefix, newText.length - suffix)
  };
}

/** Apply an edit to a string (what the shared model does with `updateSource`). */
export function applyEdit(text: string, edit: ITextEdit | null): string {
  if (!edit) {
    return text;
  }
  return text.slice(0, edit.start) + edit.insert + text.slice(edit.end);
}

/** Anything with the ISharedText `updateSource(start, end, value)` shape. */
export interface ISourceSink {
  getSource(): string;
  updateSource(start: number, end: number, value?: string): void;
}

/**
 * Write `target` into `sink` by one minimal replacement. Returns the edit made (null if none).
 */
export function writeMinimal(
  sink: ISourceSink,
  target: string
): ITextEdit | null {
  const edit = computeMinimalEdit(sink.getSource(), target);
  if (edit) {
    sink.updateSource(edit.start, edit.end, edit.insert);
  }
  return edit;
}
