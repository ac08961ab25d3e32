/**
 * Shared outputs: a cell's outputs as the protocol carries them (nbformat JSON), and how the
 * follow view renders one (a mime bundle, as JupyterLab's output area does). Pure, unit-tested
 * in node.
 */
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import type { Outputs } from '../api/messages';

/** One nbformat output, loosely typed (the server bounds and checks them). */
export type RoomOutput = Outputs[number];

const OUTPUT_TYPES = new Set<string>([
  'stream',
  'display_data',
  'execute_result',
  'error',
  'update_display_data'
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function isOutput(value: unknown): value is RoomOutput {
  return (
    isRecord(value) &&
    typeof value.output_type === 'string' &&
    OUTPUT_TYPES.has(value.output_type)
  );
}

/** The outputs among `values` (anything else dropped), as plain JSON. */
export function toOutputs(values: readonly unknown[]): Outputs {
  return values.filter(isOutput).map(o => ({ ...o }));
}

function joined(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.filter(v => typeof v === 'string').join('');
  }
  return '';
}

/** The mime bundle an output is rendered from (null: nothing to render). */
export interface IOutputBundle {
  data: ReadonlyPartialJSONObject;
  metadata: ReadonlyPartialJSONObject;
  /** The class JupyterLab's output area gives this kind of output. */
  kind: 'stdout' | 'stderr' | 'error' | 'result' | 'display';
}

export function outputBundle(output: RoomOutput): IOutputBundle | null {
  const metadata = isRecord(output.metadata)
    ? (output.metadata as ReadonlyPartialJSONObject)
    : {};
  switch (output.output_type) {
    case 'stream': {
      const stderr = output.name === 'stderr';
      const mime = stderr
        ? 'application/vnd.jupyter.stderr'
        : 'application/vnd.jupyter.stdout';
      return {
        data: { [mime]: joined(output.text) },
        metadata: {},
        kind: stderr ? 'stderr' : 'stdout'
      };
    }
    case 'error': {
      const traceback = Array.isArray(output.traceback)
        ? output.traceback.filter(v => typeof v === 'string').join('\n')
        : `${String(output.ename ?? '')}: ${String(output.evalue ?? '')}`;
      return {
        data: { 'application/vnd.jupyter.stderr': traceback },
        metadata: {},
        kind: 'error'
      };
    }
    case 'execute_result':
    case 'display_data':
    case 'update_display_data': {
      if (!isRecord(output.data)) {
        return null;
      }
      const data: Record<string, unknown> = {};
      for (const [mime, value] of Object.entries(output.data)) {
        // nbformat's multi-line strings; JSON mime types stay as they are
        data[mime] = Array.isArray(value) ? joined(value) : value;
      }
      return {
        data: data as ReadonlyPartialJSONObject,
        metadata,
        kind: output.output_type === 'execute_result' ? 'result' : 'display'
      };
    }
    default:
      return null;
  }
}

/** The same outputs (by value)? Cheap enough for a cell's bounded outputs. */
export function sameOutputs(
  a: readonly unknown[],
  b: readonly unknown[]
): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}
