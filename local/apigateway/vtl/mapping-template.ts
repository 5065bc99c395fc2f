/**
 * An API Gateway mapping template rendered locally with velocityjs, with what of API Gateway's variables the project's
 * templates use:
 * - `$input`: `body`, `path(path)` (JSONPath as selectJsonPath reads it; an empty body reads as `{}`, a body that is
 *   not JSON fails the template), `params(name)` (path, then query string, then header — header names
 *   case-insensitively; a missing parameter is the empty string) and `params()` (the maps `path`, `querystring`
 *   and `header`, names as the client wrote them).
 * - `$util`: see util.ts.
 * - `$context`: `requestId`, `path`, `resourcePath`, `identity.accountId` and `identity.userArn` (the caller),
 *   plus `responseOverride.status` and
 *   `responseOverride.header.<Name>`, which a template may `#set` and which are read back after rendering.
 * As in API Gateway, a reference that resolves to nothing renders as the empty string; a member of these variables,
 * or a method, that the emulation does not implement fails the render instead (not-emulated.ts).
 *
 * Parse once (construct at startup), render per request: rendering is synchronous and keeps no state between calls.
 */
import { JSONPath } from 'jsonpath-plus';
import { Compile, parse } from 'velocityjs';
import { MappingTemplateError, NotEmulatedError } from './errors.js';
import { javaStringMethodHandlers, type MethodHandler } from './java-string-methods.js';
import { notEmulatedMethods, strictVariable } from './not-emulated.js';
import { apiGatewayUtil } from './util.js';

export interface RequestParameters {
  path: Record<string, string>;
  querystring: Record<string, string>;
  header: Record<string, string>;
}

/** `$context.identity`: the caller, as IAM authorization knows it; empty strings for an unsigned request. */
export interface CallerIdentity {
  accountId: string;
  userArn: string;
}

/** The `$context` values of one request that templates read. */
export interface RequestContext {
  requestId: string;
  resourcePath: string;
  path: string;
  /** Absent: no caller known (as with apiAuthorization=NONE in AWS): both fields render empty. */
  identity?: CallerIdentity;
}

export interface TemplateVariables {
  /** `$input.body`: the method request body (request templates) or the integration response body (response ones). */
  body: string;
  params: RequestParameters;
  context: RequestContext;
}

export interface RenderedTemplate {
  body: string;
  /** `$context.responseOverride.status`, when the template set a valid HTTP status. */
  status?: number;
  /** `$context.responseOverride.header.*`, names as the template wrote them. */
  headers: Record<string, string>;
}

const EMPTY_PARAMETERS: RequestParameters = { path: {}, querystring: {}, header: {} };

type JsonValue = null | boolean | number | string | object;

/** jsonpath-plus extensions missing from Jayway JsonPath (API Gateway's): a template using one would work here only. */
const JSONPATH_PLUS_ONLY = /^(?:\^|~|@\w+\(\))$/;

/**
 * As Jayway JsonPath answers: the value of a definite path (undefined when nothing matches), a list for an indefinite
 * one (`[*]`, `..`, slices). Filters (`[?(...)]`) would need jsonpath-plus's script evaluator, whose semantics are
 * not Jayway's, so they fail instead.
 */
function selectJsonPath(template: string, document: JsonValue, path: string): unknown {
  const extension = JSONPath.toPathArray(path).find((step) => JSONPATH_PLUS_ONLY.test(step));
  if (extension !== undefined) throw new NotEmulatedError(template, `JSONPath ${extension} (in ${path})`);
  return JSONPath<unknown>({ path, json: document, wrap: false, eval: false });
}

function findParameter(params: RequestParameters, name: string): string {
  const fromPathOrQuery = Object.hasOwn(params.path, name)
    ? params.path[name]
    : Object.hasOwn(params.querystring, name)
      ? params.querystring[name]
      : undefined;
  if (fromPathOrQuery !== undefined) return fromPathOrQuery;
  const wanted = name.toLowerCase();
  const header = Object.keys(params.header).find((key) => key.toLowerCase() === wanted);
  return header === undefined ? '' : (params.header[header] ?? '');
}

function inputVariable(template: string, body: string, params: RequestParameters) {
  let document: { value: JsonValue } | undefined;
  const parsedBody = (): JsonValue => {
    if (!document) {
      try {
        document = { value: body.trim() === '' ? {} : (JSON.parse(body) as JsonValue) };
      } catch (error) {
        const message = `template ${template}: the body is not JSON, so $input.path cannot read it`;
        throw new MappingTemplateError(message, { cause: error });
      }
    }
    return document.value;
  };
  return {
    body,
    // A JSON null is Java's null: it renders as nothing, like a missing member.
    path: (path: string): unknown => selectJsonPath(template, parsedBody(), path) ?? undefined,
    params: (name?: unknown): string | RequestParameters => {
      // Copies: a template may not change what the next one reads.
      if (name === undefined)
        return { path: { ...params.path }, querystring: { ...params.querystring }, header: { ...params.header } };
      return findParameter(params, String(name));
    },
  };
}

const validStatus = (value: unknown): number | undefined => {
  const status = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined;
};

export class MappingTemplate {
  readonly #ast: ReturnType<typeof parse>;
  readonly #methodHandlers: MethodHandler[];

  constructor(
    readonly name: string,
    source: string,
  ) {
    try {
      this.#ast = parse(source);
    } catch (error) {
      throw new MappingTemplateError(`template ${name} does not parse`, { cause: error });
    }
    this.#methodHandlers = [...javaStringMethodHandlers, notEmulatedMethods(name)];
  }

  render(variables: Partial<TemplateVariables> & Pick<TemplateVariables, 'context'>): RenderedTemplate {
    const template = this.name;
    // `status` is present, if undefined, so that the guard lets a template set it.
    const responseOverride: { status: unknown; header: Record<string, unknown> } = { status: undefined, header: {} };
    const { context } = variables;
    const bindings = {
      // velocityjs attaches helpers to objects whose methods a template calls, so each render gets its own copies.
      input: strictVariable(
        '$input',
        inputVariable(template, variables.body ?? '', variables.params ?? EMPTY_PARAMETERS),
        template,
      ),
      util: strictVariable('$util', { ...apiGatewayUtil }, template),
      context: strictVariable(
        '$context',
        {
          requestId: context.requestId,
          path: context.path,
          resourcePath: context.resourcePath,
          identity: strictVariable(
            '$context.identity',
            { accountId: context.identity?.accountId ?? '', userArn: context.identity?.userArn ?? '' },
            template,
          ),
          responseOverride: strictVariable('$context.responseOverride', responseOverride, template),
        },
        template,
      ),
      // The API has no stage variables.
      stageVariables: strictVariable('$stageVariables', {}, template),
    };
    let body: string;
    try {
      body = new Compile(this.#ast, { customMethodHandlers: this.#methodHandlers }).render(bindings, undefined, true);
    } catch (error) {
      if (error instanceof MappingTemplateError) throw error;
      throw new MappingTemplateError(`template ${template} failed: ${(error as Error).message}`, { cause: error });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(responseOverride.header)) {
      if (value !== undefined && value !== null) headers[name] = String(value);
    }
    return { body, status: validStatus(responseOverride.status), headers };
  }
}
