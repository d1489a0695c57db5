/**
 * Signal-with-start, the one way every owner workflow is woken (routing/routes.ts, routing/clients-materials.ts):
 * signals it, first starting it with its input if it has ended, with the search attributes and summary a
 * support person finds it by (OPS-1).
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type SignalDefinition,
} from '@temporalio/client';
import { ConnectionId, EntityType, Sm8Uuid } from '../domain/search-attributes';

/** Where and as what a woken owner runs: its input, and the search attributes and summary support sees. */
export interface WakeOptions<Input> {
  workflowId: string;
  taskQueue: string;
  input: Input;
  entityType: string;
  /** The ServiceM8 record the owner is about, when it is about one. */
  sm8Uuid?: string;
  summary?: string;
}

/** Wakes one owner with `signal` (and its arguments, if it takes any). Returns its workflow id. */
export async function wake<Input extends { connectionId: string }, Args extends unknown[] = []>(
  temporal: Client,
  /** The workflow type name (WorkflowType in workflows/messages.ts). */
  workflowType: string,
  signal: SignalDefinition<Args>,
  o: WakeOptions<Input>,
  ...signalArgs: Args
): Promise<string> {
  // The SDK's option types are conditional on the signal's arguments, which TypeScript cannot resolve for a
  // generic Args; the parameters above carry the types, so the call itself is made untyped.
  const signalWithStart = temporal.workflow.signalWithStart.bind(temporal.workflow) as (
    workflowType: string,
    options: object,
  ) => Promise<unknown>;
  await signalWithStart(workflowType, {
    workflowId: o.workflowId,
    taskQueue: o.taskQueue,
    args: [o.input],
    signal,
    signalArgs,
    typedSearchAttributes: [
      { key: ConnectionId, value: o.input.connectionId },
      { key: EntityType, value: o.entityType },
      ...(o.sm8Uuid === undefined ? [] : [{ key: Sm8Uuid, value: o.sm8Uuid }]),
    ],
    ...(o.summary === undefined ? {} : { staticSummary: o.summary }),
  });
  return o.workflowId;
}

/**
 * Issue 12: wakes an owner that starts dirty (it looks once on start) with one Temporal action instead of
 * two: started if it is not running (no signal needed), else signalled. Signal-with-start costs a start and
 * a signal each time. An owner that ends between the refused start and the signal is started again.
 */
export async function startOrSignal<Input extends { connectionId: string }, Args extends unknown[] = []>(
  temporal: Client,
  workflowType: string,
  signal: SignalDefinition<Args>,
  o: WakeOptions<Input>,
  ...signalArgs: Args
): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await temporal.workflow.start(workflowType, {
        workflowId: o.workflowId,
        taskQueue: o.taskQueue,
        args: [o.input],
        typedSearchAttributes: [
          { key: ConnectionId, value: o.input.connectionId },
          { key: EntityType, value: o.entityType },
          ...(o.sm8Uuid === undefined ? [] : [{ key: Sm8Uuid, value: o.sm8Uuid }]),
        ],
        ...(o.summary === undefined ? {} : { staticSummary: o.summary }),
      });
      return o.workflowId;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    try {
      await temporal.workflow.getHandle(o.workflowId).signal(signal, ...signalArgs);
      return o.workflowId;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // It ended between the refused start and the signal: start it again.
    }
  }
  return wake(temporal, workflowType, signal, o, ...signalArgs);
}
