/**
 * The OpenAPI document (api/openapi.json) as the local server serves it and as the router reads it. In the
 * repository the document references the contract's JSON Schema file instead of copying it; here each reference
 * to another file is replaced by what it points at, so the served document stands alone.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const OPENAPI_DOCUMENT_URL = new URL('../../api/openapi.json', import.meta.url);
/** The events Order Intake publishes, for downstream teams: AsyncAPI 3 over the OrderAccepted schema file. */
export const ASYNCAPI_DOCUMENT_URL = new URL('../../api/asyncapi.json', import.meta.url);

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';
export const HTTP_METHODS: readonly HttpMethod[] = [
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
];

export interface OpenApiOperation {
  operationId: string;
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  [key: string]: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const readJson = (url: URL): Json => JSON.parse(readFileSync(fileURLToPath(url), 'utf8')) as Json;

function atPointer(document: Json, pointer: string, ref: string): Json {
  if (pointer === '' || pointer === '/') return document;
  let value: Json | undefined = document;
  for (const token of pointer.replace(/^\//, '').split('/')) {
    const key = decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
    value = value !== null && typeof value === 'object' ? (value as Record<string, Json | undefined>)[key] : undefined;
    if (value === undefined) throw new Error(`${ref} points at nothing`);
  }
  return value;
}

/** Inlines every `$ref` that names another file (relative to the file it appears in); local `#/...` refs stay. */
export function bundleExternalRefs(value: Json, base: URL, files = new Map<string, Json>()): Json {
  if (Array.isArray(value)) return value.map((item) => bundleExternalRefs(item, base, files));
  if (value === null || typeof value !== 'object') return value;
  const ref = value.$ref;
  if (typeof ref === 'string' && !ref.startsWith('#')) {
    const [file = '', pointer = ''] = ref.split('#');
    const target = new URL(file, base);
    if (!files.has(target.href)) files.set(target.href, readJson(target));
    const resolved = atPointer(files.get(target.href) as Json, pointer, ref);
    const siblings = Object.fromEntries(Object.entries(value).filter(([key]) => key !== '$ref'));
    const inlined = bundleExternalRefs(structuredClone(resolved), target, files);
    return Object.keys(siblings).length === 0 ? inlined : { ...(inlined as object), ...siblings };
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, bundleExternalRefs(item, base, files)]));
}

export interface OpenApiRoute {
  /** The path template, e.g. /orders/{orderId}: API Gateway's resource path. */
  resourcePath: string;
  pattern: RegExp;
  /** Upper-case method -> operationId. */
  operations: Map<string, string>;
}

export function openApiRoutes(document: OpenApiDocument): OpenApiRoute[] {
  return Object.entries(document.paths).map(([resourcePath, item]) => {
    const source = resourcePath
      .split('/')
      .map((segment) => {
        const parameter = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
        return parameter ? `(?<${parameter[1]}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    const operations = new Map<string, string>();
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.set(method.toUpperCase(), operation.operationId);
    }
    return { resourcePath, pattern: new RegExp(`^${source}$`), operations };
  });
}

/** The route whose template matches the (still percent-encoded) path, with its raw path parameters. */
export function matchRoute(
  routes: readonly OpenApiRoute[],
  path: string,
): { route: OpenApiRoute; pathParameters: Record<string, string> } | undefined {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) return { route, pathParameters: { ...match.groups } };
  }
  return undefined;
}

/** Reads and bundles the document; call once at startup. */
export function loadOpenApiDocument(url: URL = OPENAPI_DOCUMENT_URL): OpenApiDocument {
  return bundleExternalRefs(readJson(url), url) as unknown as OpenApiDocument;
}

/** The AsyncAPI document with its schema and examples inlined, as served at /asyncapi.json. */
export function loadAsyncApiDocument(url: URL = ASYNCAPI_DOCUMENT_URL): Record<string, unknown> {
  return bundleExternalRefs(readJson(url), url) as Record<string, unknown>;
}
