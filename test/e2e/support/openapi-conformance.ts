/**
 * Checks an HTTP response against the OpenAPI document (api/openapi.json, bundled as the server serves it): the
 * status must be documented for the operation, every required header present and valid, the media type one the
 * response lists, and the body valid against its schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import {
  loadOpenApiDocument,
  matchRoute,
  openApiRoutes,
  type OpenApiDocument,
} from '../../../local/apigateway/openapi.js';

// ajv-formats is CommonJS with `exports.default`: which binding holds the function depends on the loader.
type AddFormats = (ajv: Ajv2020) => unknown;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats =
  typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

export interface ObservedResponse {
  method: string;
  /** The request path, without the query string. */
  path: string;
  status: number;
  headers: Headers;
  body: string;
}

interface HeaderObject {
  required?: boolean;
  schema?: object;
  $ref?: string;
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema?: object }>;
}

const DOCUMENT_ID = 'https://order-intake.local/openapi.json';
const pointerToken = (token: string): string => token.replaceAll('~', '~0').replaceAll('/', '~1');

export class OpenApiConformance {
  readonly document: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #routes: ReturnType<typeof openApiRoutes>;
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument = loadOpenApiDocument()) {
    this.document = document;
    this.#routes = openApiRoutes(document);
    // strict: false, because an OpenAPI document is not a schema: its other members are not keywords.
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    this.#ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  }

  /** The compiled schema at a JSON Pointer into the document. */
  validatorAt(pointer: string): ValidateFunction {
    let validate = this.#validators.get(pointer);
    if (!validate) {
      validate = this.#ajv.getSchema(`${DOCUMENT_ID}#${pointer}`);
      if (!validate) throw new Error(`no schema at ${pointer}`);
      this.#validators.set(pointer, validate);
    }
    return validate;
  }

  #resolve<T>(value: T & { $ref?: string }): T {
    if (!value.$ref) return value;
    let target: unknown = this.document;
    for (const token of value.$ref.replace(/^#\//, '').split('/')) {
      target = (target as Record<string, unknown>)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    return target as T;
  }

  /** Whether the document has this operation (the local server also answers a few paths it does not document). */
  documents(method: string, path: string): boolean {
    const matched = matchRoute(this.#routes, path);
    return Boolean(matched?.route.operations.has(method.toUpperCase()));
  }

  /** Every way the response departs from the document; empty when it conforms. */
  violations(response: ObservedResponse): string[] {
    const where = `${response.method} ${response.path} -> ${response.status}`;
    const matched = matchRoute(this.#routes, response.path);
    const method = response.method.toLowerCase() as 'get';
    const operation = matched ? this.document.paths[matched.route.resourcePath]?.[method] : undefined;
    if (!matched || !operation) return [`${where}: no such operation in the document`];
    const responses = operation.responses as Record<string, ResponseObject | undefined>;
    const documented = responses[String(response.status)];
    if (!documented) return [`${where}: status not documented (documented: ${Object.keys(responses).join(', ')})`];

    const problems: string[] = [];
    const base = `/paths/${pointerToken(matched.route.resourcePath)}/${method}/responses/${response.status}`;
    for (const [name, declared] of Object.entries(documented.headers ?? {})) {
      const header = this.#resolve(declared);
      const value = response.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: required header ${name} missing`);
        continue;
      }
      if (header.schema) {
        const validate = this.#ajv.compile(header.schema);
        if (!validate(value))
          problems.push(`${where}: header ${name}=${value}: ${this.#ajv.errorsText(validate.errors)}`);
      }
    }

    const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
    const content = documented.content ?? {};
    if (!(mediaType in content)) {
      problems.push(`${where}: Content-Type ${mediaType} not documented (${Object.keys(content).join(', ')})`);
      return problems;
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      problems.push(`${where}: body is not JSON: ${response.body.slice(0, 200)}`);
      return problems;
    }
    const validate = this.validatorAt(`${base}/content/${pointerToken(mediaType)}/schema`);
    if (!validate(body)) problems.push(`${where}: body ${this.#ajv.errorsText(validate.errors)}`);
    return problems;
  }
}
