import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MappingTemplateError, NotEmulatedError } from '../../local/apigateway/vtl/errors.js';
import { MappingTemplate } from '../../local/apigateway/vtl/mapping-template.js';
import { requestContext } from '../support/request-context.js';

const context = requestContext({ requestId: '6f1c2e0a-0000-4000-8000-000000000001' });

const render = (source: string, body = '', params = { path: {}, querystring: {}, header: {} }) =>
  new MappingTemplate('test', source).render({ body, params, context });

describe('$input', () => {
  const body = JSON.stringify({ a: { b: 'x', list: [10, { c: true }] }, 'odd-key': 1, nothing: null });

  it('reads members and indexes with JSONPath', () => {
    expect(render(`$input.path('$.a.b')|$input.path('$.a.list[0]')|$input.path("$['odd-key']")`, body).body).toBe(
      'x|10|1',
    );
    expect(render(`$input.path('$.a.list[1]').get("c")`, body).body).toBe('true');
  });

  it('returns objects a template can navigate: get, keySet, size, properties', () => {
    const source = `#set($a = $input.path('$.a'))$a.keySet()|$a.get("b")|$a.list.size()|$a.b`;
    expect(render(source, body).body).toBe('[b, list]|x|2|x');
  });

  it('renders a missing member or a JSON null as nothing', () => {
    expect(render(`[$input.path('$.missing.deeper')][$input.path('$.nothing')]`, body).body).toBe('[][]');
  });

  it('reads an empty body as an empty object', () => {
    expect(render(`$input.path('$').size()`, '').body).toBe('0');
  });

  it('keeps $input.body exactly as received, JSON or not', () => {
    const raw = `not "json" \\ ' \u2028 😀`;
    expect(render('$input.body', raw).body).toBe(raw);
  });

  it('fails the template when $input.path reads a body that is not JSON', () => {
    expect(() => render(`$input.path('$.a')`, '{nope')).toThrow(MappingTemplateError);
  });

  it('answers an indefinite path with a list, as Jayway JsonPath does, even for one match', () => {
    const source = `$input.path('$..c')|$input.path('$.a.list[*]').size()|$input.path('$.a.list[0:1]').size()`;
    expect(render(source, body).body).toBe('[true]|2|1');
  });

  it('refuses filters and the JSONPath extensions API Gateway does not have, instead of answering differently', () => {
    for (const path of ['$.a.list[?(@.c)]', '$.a.b^', '$.a.*~', '$.a.b.@string()']) {
      expect(() => render(`$input.path('${path}')`, body)).toThrow(MappingTemplateError);
    }
  });

  it('finds params in path, then query string, then header (case-insensitively); missing is empty', () => {
    const params = {
      path: { id: 'from-path' },
      querystring: { id: 'from-query', q: 'query' },
      header: { 'X-Trace': 'h', id: 'from-header' },
    };
    const source = `$input.params('id')|$input.params('q')|$input.params('x-trace')|[$input.params('absent')]`;
    expect(render(source, '', params).body).toBe('from-path|query|h|[]');
  });
});

describe('$context', () => {
  it('exposes the request values the templates read', () => {
    const source = '$context.requestId $context.resourcePath $context.path';
    expect(render(source).body).toBe(`${context.requestId} /orders /orders`);
  });

  it('reads back responseOverride status and headers set by the template, hyphenated names included', () => {
    const source = [
      '#set($context.responseOverride.status = 418)',
      '#set($context.responseOverride.header.Content-Type = "application/problem+json")',
      '#set($context.responseOverride.header.Retry-After = "1")',
      'body',
    ].join('\n');
    expect(render(source)).toEqual({
      body: 'body',
      status: 418,
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' },
    });
  });

  it('accepts a numeric string status and ignores one that is not an HTTP status', () => {
    expect(render('#set($context.responseOverride.status = "404")').status).toBe(404);
    expect(render('#set($context.responseOverride.status = "teapot")').status).toBeUndefined();
    expect(render('#set($context.responseOverride.status = 1000)').status).toBeUndefined();
  });

  it('starts every render without overrides', () => {
    const template = new MappingTemplate(
      't',
      '#if($input.body == "set")#set($context.responseOverride.status = 500)#end',
    );
    expect(template.render({ body: 'set', context }).status).toBe(500);
    expect(template.render({ body: 'other', context }).status).toBeUndefined();
  });
});

describe('Java String methods on template strings', () => {
  it('matches the whole string, as java.lang.String#matches does', () => {
    expect(render(`#set($s = "01ARZ3NDEKTSV4RRFFQ69G5FAV")$s.matches("[0-9A-Z]{26}")`).body).toBe('true');
    expect(render(`#set($s = "x01ARZ3NDEKTSV4RRFFQ69G5FAV")$s.matches("[0-9A-Z]{26}")`).body).toBe('false');
  });

  it('measures and cuts as Java does: length, lastIndexOf, substring', () => {
    expect(render(`#set($s = "/v1/orders")$s.length()|$s.lastIndexOf("/orders")|$s.substring(0, 3)`).body).toBe(
      '10|3|/v1',
    );
    expect(render(`#set($s = "/v1/orders")$s.substring(4)|$s.lastIndexOf("x")`).body).toBe('orders|-1');
  });

  it('fails a substring out of range, as Java throws, where JavaScript would clamp', () => {
    expect(() => render(`#set($s = "abc")$s.substring(0, 4)`)).toThrow(/out of range/);
    expect(() => render(`#set($s = "abc")$s.substring(2, 1)`)).toThrow(/out of range/);
  });
});

describe('$util', () => {
  it('parseJson returns an object the template navigates', () => {
    expect(
      render(
        `#set($o = $util.parseJson($input.body))$o.headers.get("Content-Type")`,
        '{"headers":{"Content-Type":"a/b"}}',
      ).body,
    ).toBe('a/b');
  });

  it('base64Encode encodes the UTF-8 bytes of any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const encoded = render(`$util.base64Encode($input.body)`, text).body;
        expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe(text);
      }),
    );
  });
});

describe('what the emulation does not implement', () => {
  it.each([
    ['a $util function no template calls', '$util.escapeJavaScript("x")', '$util.escapeJavaScript'],
    ['an unknown $util function', '$util.escapeXml("x")', '$util.escapeXml'],
    ['an unknown $util member read as a property', '$util.version', '$util.version'],
    ['an unknown $context variable', '$context.authorizer.principalId', '$context.authorizer'],
    ['a $context variable no template reads', '$context.identity.sourceIp', '$context.identity.sourceIp'],
    ['$input.json, which no template calls', `$input.json('$')`, '$input.json'],
    ['an unknown $input member', '$input.size()', '$input.size'],
    ['a stage variable', '$stageVariables.table', '$stageVariables.table'],
    ['a Java String method not emulated', '#set($s = "a")$s.trim()', 'String#trim()'],
    ['a Java String method JavaScript means otherwise', '#set($s = "a-a")$s.replace("-", "+")', 'String#replace()'],
    ['a JavaScript string method Java lacks', '#set($s = "a")$s.padStart(3)', 'String#padStart()'],
    ['a Map method not emulated', `$input.path('$').containsKey("a")`, 'Map#containsKey()'],
    ['a JavaScript array method', `$input.path('$.list').join(",")`, 'List#join()'],
  ])('fails the render, naming the template and the member: %s', (_label, source, member) => {
    const rendering = () => render(source, '{"a":1,"list":[1,2]}');

    expect(rendering).toThrow(NotEmulatedError);
    expect(rendering).toThrow(`template test: ${member} is not emulated`);
  });

  it('refuses a $context or responseOverride member a template sets by mistake', () => {
    expect(() => render('#set($context.responseOverride.statusCode = 500)')).toThrow(
      '$context.responseOverride.statusCode is not emulated',
    );
    expect(() => render('#set($context.requestid = "x")')).toThrow('$context.requestid is not emulated');
  });

  it('still renders a missing JSON member or an unset template variable as nothing', () => {
    expect(render(`[$input.path('$.b.c')][$!nothing][$input.path('$').b]`, '{"a":1}').body).toBe('[][][]');
  });
});
