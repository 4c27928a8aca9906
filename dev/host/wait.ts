/** Resolves when `promise` settles or after `ms`, whichever comes first. */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(ms, 0))));
  await Promise.race([promise, elapsed]);
  clearTimeout(timer);
}
