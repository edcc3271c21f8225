// node --test cloudfront/: runs viewer-request.js as CloudFront would (a script
// defining handler, no modules) on sample viewer-request events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const src = readFileSync(new URL('./viewer-request.js', import.meta.url), 'utf8');
const ctx = vm.createContext({});
vm.runInContext(src, ctx);
const handler = ctx.handler;

function event(headers) {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'E123' },
    viewer: { ip: '198.51.100.7' },
    request: { method: 'GET', uri: '/some/path', querystring: { x: { value: '1' } }, headers, cookies: {} },
  };
}

test('copies Host into X-Forwarded-Host', () => {
  const out = handler(event({ host: { value: 'Old.Example.com' }, 'user-agent': { value: 'curl/8' } }));
  assert.equal(out.headers['x-forwarded-host'].value, 'old.example.com');
  assert.deepEqual(Object.keys(out.headers['x-forwarded-host']), ['value']);
});

test('leaves the other headers, the URI and the query untouched', () => {
  const headers = { host: { value: 'a.example.com' }, accept: { value: 'text/html' }, 'user-agent': { value: 'curl/8' } };
  const out = handler(event(structuredClone(headers)));
  for (const k of Object.keys(headers)) assert.deepEqual(out.headers[k], headers[k]);
  assert.equal(out.uri, '/some/path');
  assert.deepEqual(out.querystring, { x: { value: '1' } });
  assert.deepEqual(Object.keys(out.headers).sort(), [...Object.keys(headers), 'x-forwarded-host'].sort());
});

test("replaces a viewer's own X-Forwarded-Host", () => {
  const out = handler(event({ host: { value: 'a.example.com' }, 'x-forwarded-host': { value: 'victim.example.com' } }));
  assert.equal(out.headers['x-forwarded-host'].value, 'a.example.com');
});

test('without Host, drops any X-Forwarded-Host', () => {
  const out = handler(event({ 'x-forwarded-host': { value: 'victim.example.com' } }));
  assert.equal(out.headers['x-forwarded-host'], undefined);
});

test('returns a request, never a response: Host itself goes nowhere else', () => {
  const out = handler(event({ host: { value: 'a.example.com' } }));
  assert.equal(out.statusCode, undefined);
  assert.equal(out.headers.host.value, 'a.example.com'); // the origin request policy drops it
});

test('uses only what cloudfront-js-2.0 supports', () => {
  const code = src.replace(/\/\/.*$/gm, '');
  const banned = [
    [/\bimport\b|\bexport\b|\brequire\s*\(|module\.exports/, 'modules'],
    [/\bclass\b/, 'classes'], [/\bfunction\s*\*/, 'generators'], [/\bsetTimeout\b|\bsetInterval\b/, 'timers'],
    [/\bfetch\b|\bXMLHttpRequest\b/, 'network access'], [/\bprocess\.|\bconsole\.(?!log)/, 'Node globals'],
    [/\beval\b|\bnew Function\b/, 'dynamic code'], [/\bawait\b/, 'await in a viewer-request handler that needs none'],
  ];
  for (const [re, what] of banned) assert.doesNotMatch(code, re, `uses ${what}`);
  assert.match(code, /^function handler\(event\)/m);
  assert.ok(Buffer.byteLength(src) < 10240, 'over the 10 KB function size limit');
});
