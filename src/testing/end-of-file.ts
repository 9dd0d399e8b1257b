/**
 * Teardown at the end of the test file, for what one file shares among its tests (an embedded
 * database engine). tap runs each file in its own process, and its root test ends when the file
 * does. tap is loaded only here and only when an engine starts: the other helpers work under any
 * runner that passes a `{ teardown }` context.
 */
export async function atEndOfFile(fn: () => unknown): Promise<void> {
  const { default: root } = await import('tap');
  root.teardown(fn);
}
