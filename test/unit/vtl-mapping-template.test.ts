import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MappingTemplateError, NotEmulatedError } from '../../local/apigateway/vtl/errors.js';
import { MappingTemplate } from '../../local/apigateway/vtl/mapping-template.js';
import { base64Encode, escapeJavaScript, urlDecode, urlEncode } from '../../local/apigateway/vtl/util.js';
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

  it('renders a missing member or a JSON null as nothing, and $input.json as JSON text', () => {
    expect(render(`[$input.path('$.missing.deeper')][$input.path('$.nothing')]`, body).body).toBe('[][]');
    expect(render(`$input.json('$.a.list')`, body).body).toBe('[10,{"c":true}]');
    expect(render(`$input.json('$.a.b')`, body).body).toBe('"x"');
    expect(render(`$input.json('$.missing')`, body).body).toBe('null');
  });

  it('reads an empty body as an empty object', () => {
    expect(render(`$input.json('$')`, '').body).toBe('{}');
  });

  it('keeps $input.body exactly as received, JSON or not', () => {
    const raw = `not "json" \\ ' \u2028 😀`;
    expect(render('$input.body', raw).body).toBe(raw);
  });

  it('fails the template when $input.path reads a body that is not JSON', () => {
    expect(() => render(`$input.path('$.a')`, '{nope')).toThrow(MappingTemplateError);
  });

  it('answers an indefinite path with a list, as Jayway JsonPath does, even for one match', () => {
    expect(
      render(`$input.json('$..c')|$input.json('$.a.list[*]')|$input.path('$.a.list[0:1]').size()`, body).body,
    ).toBe('[true]|[10,{"c":true}]|1');
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
    expect(render(`$input.params().querystring.get('q')|$input.params().path.keySet()`, '', params).body).toBe(
      'query|[id]',
    );
  });
});

describe('$context', () => {
  it('exposes the request values', () => {
    const source = '$context.requestId $context.httpMethod $context.resourcePath $context.requestTime';
    expect(render(source).body).toBe(`${context.requestId} POST /orders 09/Apr/2025:12:34:56 +0000`);
    expect(render('$context.identity.sourceIp').body).toBe('127.0.0.1');
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

  it('replaces every occurrence with replace, as Java does, and splits without trailing empties', () => {
    expect(render(`#set($s = "a-b-c")$s.replace("-", "+")|$s.length()|$s.replaceAll("[a-c]", "x")`).body).toBe(
      'a+b+c|5|x-x-x',
    );
    expect(render(`#set($s = "a,b,,")$s.split(",")`).body).toBe('[a, b]');
  });
});

describe('$util', () => {
  it("escapeJavaScript escapes as API Gateway does: \\' for single quotes, \\uXXXX beyond ASCII", () => {
    expect(escapeJavaScript(`it's "q" \\ /`)).toBe(`it\\'s \\"q\\" \\\\ \\/`);
    expect(escapeJavaScript('tab\there\nnl\u0001')).toBe('tab\\there\\nnl\\u0001');
    expect(escapeJavaScript('é\u2028\u2029')).toBe('\\u00E9\\u2028\\u2029');
    expect(escapeJavaScript('😀')).toBe('\\uD83D\\uDE00');
    expect(render(`$util.escapeJavaScript($input.body)`, "a'b").body).toBe("a\\'b");
  });

  it('escapeJavaScript output is a valid JSON string body for any text without single quotes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const withoutQuotes = text.replaceAll("'", '');
        expect(JSON.parse(`"${escapeJavaScript(withoutQuotes)}"`)).toBe(withoutQuotes);
      }),
    );
  });

  it('parseJson returns an object the template navigates', () => {
    expect(
      render(
        `#set($o = $util.parseJson($input.body))$o.headers.get("Content-Type")`,
        '{"headers":{"Content-Type":"a/b"}}',
      ).body,
    ).toBe('a/b');
  });

  it('urlEncode and urlDecode follow java.net.URLEncoder and URLDecoder', () => {
    expect(urlEncode("a b&c=d/é~!*'()._-")).toBe('a+b%26c%3Dd%2F%C3%A9%7E%21*%27%28%29._-');
    expect(urlDecode('a+b%26c%3Dd%2F%C3%A9')).toBe('a b&c=d/é');
    expect(urlDecode('%FF')).toBe('\uFFFD');
    expect(() => urlDecode('%G1')).toThrow(/illegal hex/);
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => expect(urlDecode(urlEncode(text))).toBe(text)));
  });

  it('base64Encode and base64Decode work on UTF-8 bytes', () => {
    expect(base64Encode('😀é')).toBe(Buffer.from('😀é', 'utf8').toString('base64'));
    expect(render(`$util.base64Decode($util.base64Encode($input.body))`, '\u2028"\\😀').body).toBe('\u2028"\\😀');
  });
});

describe('what the emulation does not implement', () => {
  it.each([
    ['an unknown $util function', '$util.escapeXml("x")', '$util.escapeXml'],
    ['an unknown $util member read as a property', '$util.version', '$util.version'],
    ['an unknown $context variable', '$context.authorizer.principalId', '$context.authorizer'],
    ['an unknown $context.identity variable', '$context.identity.accountId', '$context.identity.accountId'],
    ['an unknown $input member', '$input.size()', '$input.size'],
    ['a stage variable', '$stageVariables.table', '$stageVariables.table'],
    ['a Java String method not emulated', '#set($s = "a")$s.trim()', 'String#trim()'],
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
