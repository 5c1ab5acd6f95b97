/**
 * Node flags for a child process that runs a TypeScript file of this workspace: tsx for the
 * syntax, and the `@ferry/source` condition so workspace packages resolve to their sources, as
 * they do in the test itself. Without the condition a child imports dist/, which a clean clone
 * (CI's case) has not built.
 */
export const TS_CHILD_NODE_ARGS: readonly string[] = ['--conditions=@ferry/source', '--import', 'tsx'];
