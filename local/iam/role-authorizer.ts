/**
 * Authorizes one AWS call against the identity policies of the caller's deployed role, as IAM would, with
 * @cloud-copilot/iam-simulate: actions, resource ARNs, Allow and Deny, and the condition keys the request carries
 * (dynamodb:LeadingKeys, dynamodb:EnclosingOperation, ...). A denial carries AWS's own message.
 */
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { LOCAL_ACCOUNT_ID } from '../local-account.js';
import type { DeployedRole } from './deployed-roles.js';

export interface AuthorizationRequest {
  /** `service:Action`, as in a policy. */
  action: string;
  /** The ARN the action is on. */
  resource: string;
  /** Request context keys; multi-valued keys (dynamodb:LeadingKeys) as arrays. */
  context?: Record<string, string | string[]>;
}

export class AccessDeniedError extends Error {
  override name = 'AccessDeniedError';
  constructor(
    readonly request: AuthorizationRequest,
    readonly principal: string,
    readonly explicit: boolean,
    /** S3 quotes the resource in its message; the other services do not. */
    quoteResource = request.action.startsWith('s3:'),
  ) {
    const resource = quoteResource ? `"${request.resource}"` : request.resource;
    super(
      `User: ${principal} is not authorized to perform: ${request.action} on resource: ${resource} ` +
        (explicit
          ? 'with an explicit deny in an identity-based policy'
          : `because no identity-based policy allows the ${request.action} action`),
    );
  }
}

/** The IAM evaluator could not judge the request (an unknown action, a malformed ARN): a local runtime bug. */
export class AuthorizationError extends Error {
  override name = 'AuthorizationError';
}

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * Decisions remembered per authorizer. Requests that name one item (a LeadingKeys value, an S3 object key) differ per
 * order and pass through; the bound keeps them from growing the memory, while the few requests that recur on every
 * order (StartSyncExecution, InvokeFunction, PutEvents on the bus) stay remembered.
 */
const REMEMBERED_DECISIONS = 1_000;

export class RoleAuthorizer {
  /** The assumed-role session ARN AWS names in a denial. */
  readonly principal: string;
  private readonly roleArn: string;
  private readonly identityPolicies: Simulation['identityPolicies'];
  private readonly validatedShapes = new Set<string>();
  /**
   * IAM's decision is a function of the request alone here: the policies are fixed for the authorizer's life and the
   * simulation reads no context but the request's own (no time, no source IP). So an identical request gets the
   * decision the simulator gave before, as strict as evaluating it again, without its cost (about 60 µs a request).
   */
  private readonly decisions = new Map<string, Decision>();

  constructor(
    readonly role: DeployedRole,
    session: string,
  ) {
    this.roleArn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${role.logicalId}`;
    this.principal = `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${role.logicalId}/${session}`;
    this.identityPolicies = role.policies.map((policy, index) => ({ name: `policy${index}`, policy }));
  }

  /**
   * Resolves when IAM would allow the request; rejects with AccessDeniedError when it would not. The first request of
   * each shape (action, resource, context keys) is validated by the library (unknown actions, malformed ARNs, context
   * keys of the wrong type); later ones of that shape skip the validation, which costs two thirds of an evaluation and
   * runs several times per order.
   */
  async authorize(request: AuthorizationRequest): Promise<void> {
    const key = decisionKey(request);
    const decision = this.decisions.get(key) ?? (await this.simulate(request));
    // Least recently used goes first: a request answered again moves to the end, so per-item requests never push
    // out the ones that recur on every order.
    this.decisions.delete(key);
    if (this.decisions.size >= REMEMBERED_DECISIONS) this.decisions.delete(this.decisions.keys().next().value ?? '');
    this.decisions.set(key, decision);
    if (decision === 'Allowed') return;
    throw new AccessDeniedError(request, this.principal, decision === 'ExplicitlyDenied');
  }

  /**
   * Authorizes each request in turn; a denial is thrown as `denied` makes it: the service's own error, as its SDK or
   * integration raises it.
   */
  async authorizeAs(
    requests: Iterable<AuthorizationRequest>,
    denied: (denial: AccessDeniedError) => Error,
  ): Promise<void> {
    try {
      for (const request of requests) await this.authorize(request);
    } catch (error) {
      throw error instanceof AccessDeniedError ? denied(error) : error;
    }
  }

  private async simulate(request: AuthorizationRequest): Promise<Decision> {
    const simulation: Simulation = {
      request: {
        principal: this.roleArn,
        action: request.action,
        resource: { resource: request.resource, accountId: LOCAL_ACCOUNT_ID },
        contextVariables: request.context ?? {},
      },
      identityPolicies: this.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    };
    // The resource's kind and name, not its path: an S3 object key differs per order.
    const resourceShape = request.resource.split('/')[0];
    const shape = `${request.action} ${resourceShape} ${Object.keys(request.context ?? {})
      .sort()
      .join(',')}`;
    if (this.validatedShapes.has(shape)) return runUnsafeSimulation(simulation, {});
    const validated = await runSimulation(simulation, {});
    if (validated.resultType === 'error') {
      throw new AuthorizationError(`cannot evaluate ${request.action}: ${JSON.stringify(validated.errors)}`);
    }
    this.validatedShapes.add(shape);
    return validated.overallResult;
  }
}

/** The whole request, context keys in a fixed order: two requests with the same key are the same request to IAM. */
const decisionKey = ({ action, resource, context = {} }: AuthorizationRequest): string =>
  JSON.stringify([
    action,
    resource,
    Object.keys(context)
      .sort()
      .map((name) => [name, context[name]]),
  ]);
