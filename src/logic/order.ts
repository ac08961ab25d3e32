/**
 * Live order of a teacher's shared cells: when the cells of the session stand in a different
 * order in the notebook than on the server (`reorder_cells`), and which removed cells came back
 * under a new id (a cut and paste: `move_cell`, not `remove_cell`). Pure, unit-tested in node.
 */

/** The session's cells (`tracked`) in the notebook's order. */
export function sharedOrder(
  notebookIds: readonly string[],
  tracked: (cellId: string) => boolean
): string[] {
  return notebookIds.filter(tracked);
}

/**
 * The order the server holds: the cells sorted by the index it stored for each (a push's
 * notebook index, or a position of `cells_reordered`). Null when two cells share an index (the
 * server's order is then not known here: send the order to be sure).
 */
export function serverOrder(
  indexes: ReadonlyMap<string, number>
): string[] | null {
  const entries = Array.from(indexes).sort((a, b) => a[1] - b[1]);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i][1] === entries[i - 1][1]) {
      return null;
    }
  }
  return entries.map(([id]) => id);
}

/** Should `reorder_cells` be sent: the notebook's order of the session's cells is not the
 * server's. */
export function needsReorder(
  notebookOrder: readonly string[],
  server: readonly string[] | null
): boolean {
  if (!server) {
    return notebookOrder.length > 1;
  }
  const known = new Set(notebookOrder);
  const held = server.filter(id => known.has(id));
  if (held.length !== notebookOrder.length) {
    return true;
  }
  return held.some((id, i) => id !== notebookOrder[i]);
}

/** A cell as the move detection compares it: its type and text. */
export interface ICellSnapshot {
  id: string;
  cellType: string;
  source: string;
}

export interface IMove {
  fromId: string;
  toId: string;
}

/**
 * Pair the session's cells that left the notebook (`missing`) with new cells (`added`) of the
 * same type and text, each used once, in order: those are moves (a cut and paste that gave the
 * cell a new id). The missing cells left unpaired are `unmatched`.
 */
export function matchMoves(
  missing: readonly ICellSnapshot[],
  added: readonly ICellSnapshot[]
): { moves: IMove[]; unmatched: string[] } {
  const free = added.slice();
  const moves: IMove[] = [];
  const unmatched: string[] = [];
  for (const gone of missing) {
    const at = free.findIndex(
      c => c.cellType === gone.cellType && c.source === gone.source
    );
    if (at >= 0) {
      moves.push({ fromId: gone.id, toId: free[at].id });
      free.splice(at, 1);
    } else {
      unmatched.push(gone.id);
    }
  }
  return { moves, unmatched };
}

/** A map with `from`'s entry under `to` (nothing changes when `from` has none). */
export function renameKey<V>(
  map: Map<string, V>,
  from: string,
  to: string
): void {
  if (map.has(from)) {
    const value = map.get(from) as V;
    map.delete(from);
    map.set(to, value);
  }
}
