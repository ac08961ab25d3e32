/**
 * The follow view's list of cells, keyed by cell id: a cell keeps its element, editor and
 * rendered markdown across updates (only what changed is redrawn), a move only moves its
 * element, and a cell's body is drawn only once it comes near the visible part of the panel
 * (an IntersectionObserver on the scrolling panel), so a long notebook opens fast.
 */
import { IFollowCell } from '../../logic/follow';
import { el, swapIfChanged } from '../dom';
import { FollowCellBody, IFollowRenderers } from './cellBody';

/** How far outside the visible part of the panel cells are already drawn. */
const RENDER_MARGIN = '600px 0px';

interface IItem {
  node: HTMLLIElement;
  head: HTMLDivElement;
  body: FollowCellBody;
}

export class FollowCellList {
  constructor(
    private _renderers: IFollowRenderers,
    scroller: HTMLElement
  ) {
    this.node = el('ol', 'jp-nbsync-follow-cells');
    this._observer = new IntersectionObserver(this._onIntersect, {
      root: scroller,
      rootMargin: RENDER_MARGIN
    });
  }

  readonly node: HTMLOListElement;

  /** Show these cells, in this order; `fillHead` draws a cell's header. */
  update(
    cells: IFollowCell[],
    fillHead: (cell: IFollowCell, head: HTMLElement) => void
  ): void {
    const wanted = new Set(cells.map(c => c.id));
    for (const [id, item] of this._items) {
      if (!wanted.has(id)) {
        this._remove(id, item);
      }
    }
    let at: ChildNode | null = this.node.firstChild;
    for (const cell of cells) {
      const item = this._items.get(cell.id) ?? this._add(cell.id);
      const node = item.node;
      node.dataset.status = cell.status;
      node.dataset.cellType = cell.cellType;
      node.dataset.locked = String(cell.locked);
      const head = el('div', 'jp-nbsync-follow-head');
      fillHead(cell, head);
      swapIfChanged(item.head, head);
      item.body.update(cell);
      if (at === node) {
        at = node.nextSibling;
      } else {
        this.node.insertBefore(node, at); // new, or moved: only its element moves
      }
    }
  }

  /** Every cell drawn (for a measurement or a screenshot), not only those in view. */
  materializeAll(): void {
    for (const item of this._items.values()) {
      this._materialize(item);
    }
  }

  dispose(): void {
    this._observer.disconnect();
    for (const [id, item] of this._items) {
      this._remove(id, item);
    }
    this.node.remove();
  }

  private _add(id: string): IItem {
    const node = el('li', 'jp-nbsync-follow-cell');
    node.dataset.cellId = id;
    const head = el('div', 'jp-nbsync-follow-head');
    const body = new FollowCellBody(this._renderers);
    node.append(head, body.node);
    const item = { node, head, body };
    this._items.set(id, item);
    this._byNode.set(node, item);
    this._observer.observe(node);
    return item;
  }

  private _remove(id: string, item: IItem): void {
    this._observer.unobserve(item.node);
    item.body.dispose();
    item.node.remove();
    this._items.delete(id);
  }

  private _materialize(item: IItem): void {
    if (!item.body.materialized && item.node.isConnected) {
      item.body.materialize();
      this._observer.unobserve(item.node);
    }
  }

  private _onIntersect = (entries: IntersectionObserverEntry[]): void => {
    for (const entry of entries) {
      const item = this._byNode.get(entry.target);
      if (entry.isIntersecting && item) {
        this._materialize(item);
      }
    }
  };

  private _items = new Map<string, IItem>();
  private _byNode = new WeakMap<Element, IItem>();
  private _observer: IntersectionObserver;
}
