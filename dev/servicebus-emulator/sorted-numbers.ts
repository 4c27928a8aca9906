// A chunk splits in two once it holds more than twice this many numbers.
const CHUNK_SIZE = 256;

/**
 * A set of numbers in ascending order, kept as a list of sorted chunks: adding, deleting and
 * reading on from a number cost O(log n + CHUNK_SIZE), where one sorted array costs O(n).
 */
export class SortedNumbers {
  private readonly chunks: number[][] = [];

  add(value: number): void {
    if (this.chunks.length === 0) {
      this.chunks.push([value]);
      return;
    }
    const chunkIndex = this.chunkIndexOf(value);
    const chunk = this.chunks[chunkIndex];
    const index = lowerBound(chunk, value);
    if (chunk[index] === value) return;
    chunk.splice(index, 0, value);
    if (chunk.length > 2 * CHUNK_SIZE) {
      this.chunks.splice(chunkIndex + 1, 0, chunk.splice(CHUNK_SIZE));
    }
  }

  delete(value: number): void {
    if (this.chunks.length === 0) return;
    const chunkIndex = this.chunkIndexOf(value);
    const chunk = this.chunks[chunkIndex];
    const index = lowerBound(chunk, value);
    if (chunk[index] !== value) return;
    chunk.splice(index, 1);
    if (chunk.length === 0) this.chunks.splice(chunkIndex, 1);
  }

  /** Up to `count` numbers from `from` on, ascending. */
  take(from: number, count: number): number[] {
    const taken: number[] = [];
    if (this.chunks.length === 0) return taken;
    let chunkIndex = this.chunkIndexOf(from);
    let index = lowerBound(this.chunks[chunkIndex], from);
    while (taken.length < count && chunkIndex < this.chunks.length) {
      const chunk = this.chunks[chunkIndex];
      if (index < chunk.length) {
        taken.push(chunk[index++]);
      } else {
        chunkIndex++;
        index = 0;
      }
    }
    return taken;
  }

  /** The chunk that holds the value or would: the first whose last number is not smaller. */
  private chunkIndexOf(value: number): number {
    let low = 0;
    let high = this.chunks.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.chunks[middle].at(-1)! < value) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Where the value is, or would go, in an ascending array. */
function lowerBound(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (values[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
