/**
 * Delta pulls (notebook_sync_ydoc/engines/delta.py): rebuild the teacher's text from the text
 * last pulled and the server's CRDT update, without the full text on the wire.
 *
 * Both sides build the same Yjs document from the base text alone (client BASE_CLIENT_ID, one
 * insert into the `source` text), so the server's edits of it apply here; `textCheck` (the
 * server's `merge.text_check`) tells a wrong base from a right one.
 */
import * as Y from 'yjs';

/** The base text's one insert; the same id as the server's (engines/delta.py). */
export const BASE_CLIENT_ID = 4;
const SOURCE_KEY = 'source';

/** The text the document of `base` reads after `update`. */
export function applyDelta(base: string, update: Uint8Array): string {
  const doc = new Y.Doc();
  doc.clientID = BASE_CLIENT_ID;
  const text = doc.getText(SOURCE_KEY);
  if (base) {
    text.insert(0, base);
  }
  Y.applyUpdate(doc, update);
  const result = text.toString();
  doc.destroy();
  return result;
}

/** FNV-1a (32 bit) of the UTF-8 text, 8 hex digits (the server's `text_check`). */
export function textCheck(text: string): string {
  let value = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    value ^= byte;
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value.toString(16).padStart(8, '0');
}

/** Standard base64 to bytes. */
export function fromBase64(data: string): Uint8Array {
  const raw = atob(data);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    out[i] = raw.charCodeAt(i);
  }
  return out;
}
