import { ICommandPalette } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

/** Put commands in the palette (when there is one) under "Class Session". */
export function addToPalette(
  palette: ICommandPalette | null,
  trans: TranslationBundle,
  commands: string[]
): void {
  for (const command of commands) {
    palette?.addItem({ command, category: trans.__('Class Session') });
  }
}
