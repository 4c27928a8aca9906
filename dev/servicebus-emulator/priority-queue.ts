export interface Prioritized<T> {
  readonly item: T;
  readonly priority: number;
}

// Outdated entries tolerated beyond the current ones before the heap is rebuilt.
const REBUILD_SLACK = 64;

/**
 * Items by priority, smallest first (equal priorities: smallest item first), each item once.
 * A binary min-heap with lazy invalidation: moving or deleting an item leaves its old entry in
 * the heap, skipped when it reaches the top; once outdated entries outnumber the current ones
 * the heap is rebuilt from the current ones. Every operation is O(log n), amortized.
 */
export class PriorityQueue<T extends number | string> {
  private heap: Array<Prioritized<T>> = [];
  private readonly current = new Map<T, Prioritized<T>>();

  get(item: T): number | undefined {
    return this.current.get(item)?.priority;
  }

  /** Adds the item, or moves it to another priority. */
  set(item: T, priority: number): void {
    if (this.current.get(item)?.priority === priority) return;
    const entry = { item, priority };
    this.current.set(item, entry);
    this.heap.push(entry);
    this.siftUp(this.heap.length - 1);
    if (this.heap.length > 2 * this.current.size + REBUILD_SLACK) this.rebuild();
  }

  delete(item: T): void {
    this.current.delete(item);
  }

  /** The item that comes first, left in place. */
  first(): Prioritized<T> | undefined {
    while (this.heap.length > 0 && this.current.get(this.heap[0].item) !== this.heap[0]) {
      this.removeTop();
    }
    return this.heap[0];
  }

  private rebuild(): void {
    this.heap = [...this.current.values()];
    for (let index = (this.heap.length >> 1) - 1; index >= 0; index--) this.siftDown(index);
  }

  private removeTop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    this.siftDown(0);
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.isBefore(this.heap[index], this.heap[parent])) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    for (;;) {
      let smallest = index;
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child < this.heap.length && this.isBefore(this.heap[child], this.heap[smallest])) {
          smallest = child;
        }
      }
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private isBefore(a: Prioritized<T>, b: Prioritized<T>): boolean {
    return a.priority < b.priority || (a.priority === b.priority && a.item < b.item);
  }

  private swap(a: number, b: number): void {
    [this.heap[a], this.heap[b]] = [this.heap[b], this.heap[a]];
  }
}
