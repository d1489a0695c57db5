/**
 * client/ starts workflows by their type name, not their function: it knows the workflows by their
 * contract and loads none of their code. The names are checked at compile time against what the worker
 * registers (the exports of workflows/index.ts), so a misspelt or renamed type does not compile.
 */
import type * as registered from '../workflows';

export type WorkflowTypeName = Extract<keyof typeof registered, `${string}Workflow`>;

/** The type name, as written, once the compiler knows the worker registers it. */
export const workflowType = <N extends WorkflowTypeName>(name: N): N => name;
