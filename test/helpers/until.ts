/**
 * Waits until `condition` holds, checking it every `intervalMs`; once `timeoutMs` have passed it
 * fails naming `what`, which says more than jest's timeout of the whole hook or test would.
 *
 *   await until('a first checkpoint', async () => (await store.load(stream)) !== undefined);
 */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 20 }: { readonly timeoutMs?: number; readonly intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
