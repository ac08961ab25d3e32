/**
 * The extension's settings (schema/plugin.json) and what the automatic push does with them.
 * Pure, unit-tested in node.
 */

export type AutoPushMode = 'off' | 'run' | 'pause' | 'run-and-pause';

export interface ISyncSettings {
  autoPush: AutoPushMode;
  autoPushDelayMs: number;
  /** The notebook-wide default of a cell's "Share outputs" (the teacher's choice per cell
   * wins). */
  shareOutputs: boolean;
}

export const DEFAULT_SETTINGS: ISyncSettings = {
  autoPush: 'off',
  autoPushDelayMs: 2000,
  shareOutputs: false
};

/** The shortest edit pause honoured, whatever the setting says. */
export const MIN_AUTO_PUSH_DELAY_MS = 200;

const MODES: readonly AutoPushMode[] = ['off', 'run', 'pause', 'run-and-pause'];

/** Settings from the registry's composite values (anything missing or invalid: the default). */
export function readSettings(
  composite: (key: string) => unknown
): ISyncSettings {
  const mode = composite('autoPush');
  const delay = composite('autoPushDelayMs');
  const outputs = composite('shareOutputs');
  return {
    autoPush: MODES.find(m => m === mode) ?? DEFAULT_SETTINGS.autoPush,
    autoPushDelayMs:
      typeof delay === 'number' && delay > 0
        ? delay
        : DEFAULT_SETTINGS.autoPushDelayMs,
    shareOutputs:
      typeof outputs === 'boolean' ? outputs : DEFAULT_SETTINGS.shareOutputs
  };
}

/** Is a shared cell pushed when it is run? */
export function pushesOnRun(mode: AutoPushMode): boolean {
  return mode === 'run' || mode === 'run-and-pause';
}

/** Is a shared cell pushed after a pause in typing? */
export function pushesOnPause(mode: AutoPushMode): boolean {
  return mode === 'pause' || mode === 'run-and-pause';
}

/** The edit pause before an automatic push. */
export function pauseDelay(settings: ISyncSettings): number {
  return Math.max(MIN_AUTO_PUSH_DELAY_MS, settings.autoPushDelayMs);
}
