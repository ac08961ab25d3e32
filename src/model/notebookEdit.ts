/**
 * Reading and writing notebook cells through the notebook's shared model.
 */
import { Cell, ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import { Notebook, NotebookPanel } from '@jupyterlab/notebook';
import { JSONObject } from '@lumino/coreutils';

import { CellType, ICellContent, Outputs } from '../api/messages';
import { ITextEdit, writeMinimal } from '../logic/minimalEdit';
import { insertionIndex } from '../logic/updates';

/** Metadata keys never pushed to students (per-user UI state and our own bookkeeping). */
const PRIVATE_METADATA = [
  'collapsed',
  'scrolled',
  'jupyter',
  'execution',
  'trusted'
];

export function findCell(
  notebook: Notebook,
  cellId: string
): { cell: Cell; index: number } | null {
  const widgets = notebook.widgets;
  for (let i = 0; i < widgets.length; i++) {
    if (widgets[i].model.id === cellId) {
      return { cell: widgets[i], index: i };
    }
  }
  return null;
}

export function findCellModel(
  panel: NotebookPanel,
  cellId: string
): ICellModel | null {
  const found = findCell(panel.content, cellId);
  return found ? found.cell.model : null;
}

/** One of the cell types the protocol carries (JupyterLab's type admits any string). */
export function isCellType(type: unknown): type is CellType {
  return type === 'code' || type === 'markdown' || type === 'raw';
}

/** The cell type to create for `type`: itself, or code for anything else. */
export function toCellType(type: unknown): CellType {
  return isCellType(type) ? type : 'code';
}

export function cellIds(notebook: Notebook): string[] {
  return notebook.widgets.map(w => w.model.id);
}

/** The content a teacher pushes for a cell. */
export function cellContent(model: ICellModel): ICellContent {
  const metadata: { [key: string]: unknown } = {};
  const all = model.sharedModel.getMetadata() as JSONObject;
  for (const key of Object.keys(all)) {
    if (!PRIVATE_METADATA.includes(key)) {
      metadata[key] = all[key];
    }
  }
  return {
    source: model.sharedModel.getSource(),
    cell_type: toCellType(model.type),
    metadata
  };
}

/** Write `source` into a cell with one minimal replacement (cursor and undo behave). */
export function writeCellSource(
  model: ICellModel,
  source: string
): ITextEdit | null {
  return writeMinimal(model.sharedModel, source);
}

/**
 * Insert a teacher cell the student does not have, keeping the teacher's order and the
 * teacher's cell id (so later pulls find it). Returns the new cell's index.
 */
export function insertTeacherCell(
  panel: NotebookPanel,
  cellId: string,
  content: ICellContent,
  teacherOrder: ReadonlyMap<string, number>,
  teacherIndex: number
): number {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    throw new Error('Notebook has no model');
  }
  const index = insertionIndex(cellIds(notebook), teacherOrder, teacherIndex);
  const metadata = (content.metadata ?? {}) as JSONObject;
  model.sharedModel.insertCell(index, {
    id: cellId,
    cell_type: toCellType(content.cell_type),
    source: content.source,
    metadata
  });
  return index;
}

/**
 * The teacher changed a cell's type (code <-> markdown): replace the student's cell by one of
 * the new type at the same place, with the same id and the given source.
 */
export function replaceCellType(
  panel: NotebookPanel,
  cellId: string,
  cellType: string,
  source: string
): boolean {
  const model = panel.content.model;
  const found = findCell(panel.content, cellId);
  if (!model || !found || found.cell.model.type === cellType) {
    return false;
  }
  const metadata = found.cell.model.sharedModel.getMetadata() as JSONObject;
  model.sharedModel.transact(() => {
    model.sharedModel.deleteCell(found.index);
    model.sharedModel.insertCell(found.index, {
      id: cellId,
      cell_type: toCellType(cellType),
      source,
      metadata
    });
  });
  return true;
}

/**
 * Give a cell another id, changing nothing else: the same cell (type, text, outputs,
 * metadata) at the same place, the active cell kept. False when there is no such cell.
 */
export function renameCell(
  panel: NotebookPanel,
  fromId: string,
  toId: string
): boolean {
  const notebook = panel.content;
  const model = notebook.model;
  const found = findCell(notebook, fromId);
  if (!model || !found) {
    return false;
  }
  const active = notebook.activeCellIndex;
  const mode = notebook.mode;
  const json = { ...found.cell.model.toJSON(), id: toId };
  model.sharedModel.transact(() => {
    model.sharedModel.deleteCell(found.index);
    model.sharedModel.insertCell(found.index, json);
  });
  if (active === found.index) {
    notebook.activeCellIndex = active;
    notebook.mode = mode;
  }
  return true;
}

/** What a code cell's shared model takes as outputs (nbformat's). */
type CellOutputs = Parameters<ICodeCellModel['sharedModel']['setOutputs']>[0];

/**
 * Put the teacher's shared outputs into a student's code cell, untrusted (rendered as those
 * of an untrusted notebook: HTML sanitized, no script). False when there is no such code cell.
 */
export function writeCellOutputs(
  panel: NotebookPanel,
  cellId: string,
  outputs: Outputs
): boolean {
  const model = findCellModel(panel, cellId);
  if (!model || model.type !== 'code') {
    return false;
  }
  const code = model as ICodeCellModel;
  code.trusted = false;
  code.sharedModel.setOutputs(outputs as unknown as CellOutputs);
  return true;
}
