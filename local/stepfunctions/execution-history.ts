/**
 * An execution as aws-local-stepfunctions logs it, and the same execution in the shape of Step Functions'
 * GetExecutionHistory, so that what a developer exports locally reads like what the AWS console and CLI show.
 * The local log is richer (it names retries and catches); AWS shows a retry as the task scheduled again, and a
 * catch as the state exiting with the error as its output.
 */
import type { HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';
import type { StateMachine } from 'aws-local-stepfunctions';
import { describeError } from '../../src/json-value.js';

/** One entry of an execution's event log (the package does not export the type by name). */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never;

/** One local execution, from its start to its end, as the console stores it. */
export interface RecordedExecution {
  /** The execution's name: the API request id. */
  name: string;
  arn: string;
  stateMachineArn: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  startedAt: number;
  stoppedAt: number;
  events: EventLog[];
  /**
   * Each call of a Task state's service integration, in call order: the parameters as resolved and sent (after
   * InputPath and Parameters) and the service's answer (before ResultSelector and ResultPath), which the event log
   * does not carry. Absent from executions recorded before it was kept.
   */
  taskCalls?: TaskCall[];
}

export interface TaskCall {
  state: string;
  parameters: unknown;
  /** The service's answer; absent when the call failed. */
  result?: unknown;
}

/**
 * An event as it can be stored: a state's failure carries the thrown Error itself as its Cause, which JSON writes
 * as `{}`; it is kept as its text (`Error: message`, what the execution's own failure says).
 */
export const recordable = (event: EventLog): EventLog =>
  'Cause' in event && event.Cause instanceof Error ? { ...event, Cause: describeError(event.Cause) } : event;

type StateResources = Record<string, { Type: string; Resource?: string }>;

/** `arn:aws:states:::aws-sdk:dynamodb:transactWriteItems` -> `aws-sdk:dynamodb` and `transactWriteItems`. */
function taskResourceOf(resource: string): { resourceType: string; resource: string } {
  const service = resource.replace(/^arn:aws:states:::/, '').split(':');
  return { resource: service.at(-1) ?? resource, resourceType: service.slice(0, -1).join(':') || 'lambda' };
}

const json = (value: unknown): string => JSON.stringify(value ?? null);
/** Nothing is truncated locally; AWS truncates payloads over 256 KB. */
const payload = () => ({ truncated: false });

export function toExecutionHistory(execution: RecordedExecution, states: StateResources): HistoryEvent[] {
  const history: HistoryEvent[] = [];
  const add = (timestamp: number, type: HistoryEventType, details: Partial<HistoryEvent> = {}): void => {
    const id = history.length + 1;
    history.push({ timestamp: new Date(timestamp), type, id, previousEventId: id - 1, ...details });
  };
  const caught = new Set<string>();
  // Each Task state's calls, taken in order as the log enters (or retries) the state: what was sent, what came back.
  const pending = new Map<string, TaskCall[]>();
  for (const call of execution.taskCalls ?? []) pending.set(call.state, [...(pending.get(call.state) ?? []), call]);
  const current = new Map<string, TaskCall | undefined>();
  const nextCall = (state: string): TaskCall | undefined => {
    const call = pending.get(state)?.shift();
    current.set(state, call);
    return call;
  };
  for (const event of execution.events) {
    switch (event.type) {
      case 'ExecutionStarted':
        add(event.timestamp, 'ExecutionStarted', {
          executionStartedEventDetails: {
            input: json(event.input),
            inputDetails: payload(),
            roleArn: `${execution.stateMachineArn}:role`,
          },
        });
        break;
      case 'ExecutionSucceeded':
        add(event.timestamp, 'ExecutionSucceeded', {
          executionSucceededEventDetails: { output: json(event.output), outputDetails: payload() },
        });
        break;
      case 'ExecutionFailed':
        add(event.timestamp, 'ExecutionFailed', {
          executionFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? '') },
        });
        break;
      case 'ExecutionAborted':
        add(event.timestamp, 'ExecutionAborted', { executionAbortedEventDetails: {} });
        break;
      case 'ExecutionTimeout':
        add(event.timestamp, 'ExecutionTimedOut', { executionTimedOutEventDetails: {} });
        break;
      case 'StateEntered': {
        const { name, type, input } = event.state;
        add(event.timestamp, `${type}StateEntered` as HistoryEventType, {
          stateEnteredEventDetails: { name, input: json(input), inputDetails: payload() },
        });
        const resource = states[name]?.Resource;
        if (type === 'Task' && resource) {
          const call = nextCall(name);
          scheduleTask(add, event.timestamp, taskResourceOf(resource), call ? call.parameters : input);
        }
        break;
      }
      case 'StateRetried': {
        const resource = states[event.state.name]?.Resource;
        if (resource) {
          const call = nextCall(event.state.name);
          scheduleTask(add, event.timestamp, taskResourceOf(resource), call ? call.parameters : event.state.input);
        }
        break;
      }
      case 'StateFailed': {
        const resource = states[event.state.name]?.Resource;
        if (event.state.type !== 'Task' || !resource) break;
        add(event.timestamp, 'TaskFailed', {
          taskFailedEventDetails: { ...taskResourceOf(resource), error: event.Error, cause: String(event.Cause ?? '') },
        });
        break;
      }
      case 'StateCaught':
        caught.add(event.state.name);
        break;
      case 'StateExited': {
        const { name, type, output } = event.state;
        const resource = states[name]?.Resource;
        if (type === 'Task' && resource && !caught.delete(name)) {
          const call = current.get(name);
          add(event.timestamp, 'TaskSucceeded', {
            taskSucceededEventDetails: {
              ...taskResourceOf(resource),
              // The service's answer, as AWS records it; an older record without calls has the state's output.
              output: json(call && 'result' in call ? call.result : output),
              outputDetails: payload(),
            },
          });
        }
        add(event.timestamp, `${type}StateExited` as HistoryEventType, {
          stateExitedEventDetails: { name, output: json(output), outputDetails: payload() },
        });
        break;
      }
      default:
        // Map and Parallel events: this workflow has neither state.
        break;
    }
  }
  if (execution.status === 'TIMED_OUT')
    add(execution.stoppedAt, 'ExecutionTimedOut', { executionTimedOutEventDetails: {} });
  return history;
}

function scheduleTask(
  add: (timestamp: number, type: HistoryEventType, details?: Partial<HistoryEvent>) => void,
  timestamp: number,
  task: { resourceType: string; resource: string },
  parameters: unknown,
): void {
  add(timestamp, 'TaskScheduled', {
    taskScheduledEventDetails: { ...task, region: 'local', parameters: json(parameters) },
  });
  add(timestamp, 'TaskStarted', { taskStartedEventDetails: task });
}
