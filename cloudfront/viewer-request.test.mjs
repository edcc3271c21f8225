// node --test cloudfront/: runs viewer-request.js as CloudFront would (through the
// emulator's stand-in for the cloudfront module) on sample viewer-request events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cloudfrontModule, loadHandler, parseImportFile, withRuntime } from './emulate.mjs';

const src = readFileSync(new URL('./viewer-request.js', import.meta.url), 'utf8');

// A store as shared/edgekvs writes it (see its tests for the encoding).
const store = new Map([
  ['|config', '[1,3600,10]'],
  ['old.example', '[0,0,[301,3,"https://new.example/base/"],0]'],
  ['secure.example', '[3,0,[308,0,"https://new.example/"],0]'],
  ['site.example', '[60,8,0,0]'],
  ['site.example|e/contact', '[302,0,"https://new.example/contact?a=<1>&b"]'],
  ['site.example|s/docs', '[307,1,"https://docs.example/manual"]'],
  ['gone.example', '[16,0,0,1]'],
  ['*.wild.example', '[0,0,[301,0,"https://wild.example/"],0]'],
  ['not.wild.example', '0'],
]);

function run(ev, st = store) {
  const counter = { gets: 0 };
  const handler = loadHandler(cloudfrontModule(st, counter));
  return handler(withRuntime(ev)).then((out) => ({ out, gets: counter.gets }));
}

function event(host, { method = 'GET', uri = '/', query, proto = 'https', headers = {} } = {}) {
  const h = { ...headers };
  if (host !== undefined) h.host = { value: host };
  if (proto) h['cloudfront-forwarded-proto'] = { value: proto };
  const request = { method, uri, querystring: {}, headers: h, cookies: {} };
  if (query !== undefined) request.rawQueryString = query;
  return { version: '1.0', context: { eventType: 'viewer-request', distributionId: 'E123' }, viewer: { ip: '198.51.100.7' }, request };
}

test('a host in the store is answered at the edge, keep-path and keep-query included', async () => {
  const { out } = await run(event('Old.Example:443', { uri: '/a/b c', query: 'x=1' }));
  assert.equal(out.statusCode, 301);
  assert.equal(out.headers.location.value, 'https://new.example/base/a/b%20c?x=1');
  assert.equal(out.headers['cache-control'].value, 'public, max-age=3600');
  assert.equal(out.headers['content-type'].value, 'text/html; charset=utf-8');
  assert.equal(out.headers['strict-transport-security'], undefined);
  assert.match(out.body.data, /Redirecting to <a href="https:\/\/new\.example\/base\/a\/b%20c\?x=1">/);
});

test('every method gets its redirect at the edge; HEAD without a body', async () => {
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const { out } = await run(event('secure.example', { method }));
    assert.equal(out.statusCode, 308, method);
    assert.equal(out.body === undefined, method === 'HEAD', method);
  }
});

test('plain HTTP to an upgrading route goes to HTTPS first; HSTS only over HTTPS', async () => {
  let { out } = await run(event('secure.example', { uri: '/p', query: 'q', proto: 'http' }));
  assert.equal(out.statusCode, 301);
  assert.equal(out.headers.location.value, 'https://secure.example/p?q');
  assert.equal(out.headers['strict-transport-security'], undefined);
  ({ out } = await run(event('secure.example')));
  assert.equal(out.headers['strict-transport-security'].value, 'max-age=31536000');
  // Without CloudFront-Forwarded-Proto the request is taken as HTTPS, as the origin takes it.
  ({ out } = await run(event('secure.example', { proto: null })));
  assert.equal(out.statusCode, 308);
});

test('path rules: case and trailing slash folded, subpath suffix kept, the link escaped', async () => {
  let { out } = await run(event('site.example', { uri: '/Contact/' }));
  assert.equal(out.statusCode, 302);
  assert.equal(out.headers['cache-control'].value, 'no-store');
  assert.match(out.body.data, /href="https:\/\/new\.example\/contact\?a=&lt;1&gt;&amp;b"/);
  ({ out } = await run(event('site.example', { uri: '/DOCS/x/y' })));
  assert.equal(out.headers.location.value, 'https://docs.example/manual/x/y');
});

test('"not configured" and placeholders go to the origin, which renders the page', async () => {
  for (const host of ['site.example', 'not.wild.example', 'unknown.example']) {
    const { out } = await run(event(host, { uri: '/nothing', headers: { 'x-forwarded-host': { value: 'victim.example' } } }));
    assert.equal(out.statusCode, undefined, host);
    assert.equal(out.headers['x-forwarded-host'].value, host);
    assert.equal(out.uri, '/nothing');
  }
});

test('a wildcard answers below its base, not for a more specific placeholder', async () => {
  let { out } = await run(event('a.b.wild.example'));
  assert.equal(out.headers.location.value, 'https://wild.example/');
  ({ out } = await run(event('not.wild.example')));
  assert.equal(out.statusCode, undefined);
});

test('a gone fallback is 410', async () => {
  const { out } = await run(event('gone.example', { uri: '/x' }));
  assert.equal(out.statusCode, 410);
  assert.equal(out.headers['cache-control'].value, 'public, max-age=10');
});

test('methods other than GET and HEAD for hosts the origin serves get 405', async () => {
  for (const host of ['unknown.example', 'not.wild.example', undefined]) {
    const { out } = await run(event(host, { method: 'POST' }));
    assert.equal(out.statusCode, 405);
    assert.equal(out.headers.allow.value, 'GET, HEAD');
    assert.equal(out.headers['cache-control'].value, 'no-store');
  }
});

test('without Host, drops any X-Forwarded-Host', async () => {
  const { out } = await run(event(undefined, { headers: { 'x-forwarded-host': { value: 'victim.example' } } }));
  assert.equal(out.headers['x-forwarded-host'], undefined);
});

test('a store of another format version sends everything to the origin', async () => {
  const st = new Map(store);
  st.set('|config', '[2,3600,10]');
  const { out } = await run(event('old.example'), st);
  assert.equal(out.statusCode, undefined);
});

test('lookups are bounded: a deep host and a long path cost few store reads', async () => {
  const host = Array(120).fill('a').join('.') + '.example';
  let { gets } = await run(event(host));
  assert.ok(gets <= 101, `${gets} reads for a host of 121 labels`);
  ({ gets } = await run(event('site.example', { uri: '/' + 'x/'.repeat(3000) })));
  assert.ok(gets <= 10, `${gets} reads for a path of 3000 segments`) // only prefixes no longer than the longest rule key;
});

test('over 8192 bytes of path and query is 414', async () => {
  const { out } = await run(event('old.example', { uri: '/' + 'é'.repeat(4096) }));
  assert.equal(out.statusCode, 414);
  const ok = await run(event('old.example', { uri: '/' + 'é'.repeat(4095) }));
  assert.equal(ok.out.statusCode, 301);
});

test('the emulator refuses an import file CloudFront would refuse', () => {
  assert.throws(() => parseImportFile('{"data":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}'), /twice/);
  assert.throws(() => parseImportFile(JSON.stringify({ data: [{ key: 'k'.repeat(513), value: '' }] })), /512/);
  assert.throws(() => parseImportFile(JSON.stringify({ data: [{ key: 'k', value: 'v'.repeat(1025) }] })), /1024/);
  assert.throws(() => parseImportFile('[]'), /data/);
  assert.equal(parseImportFile('{"data":[{"key":"a","value":"1"}]}').get('a'), '1');
});

test('uses only what cloudfront-js-2.0 supports, under 10 KB', () => {
  const code = src.replace(/\/\/.*$/gm, '');
  const banned = [
    [/\bexport\b|\brequire\s*\(|module\.exports/, 'exports'],
    [/\bclass\b/, 'classes'], [/\bfunction\s*\*/, 'generators'], [/\bsetTimeout\b|\bsetInterval\b/, 'timers'],
    [/\bfetch\b|\bXMLHttpRequest\b/, 'network access'], [/\bprocess\.|\bconsole\.(?!log)/, 'Node globals'],
    [/\beval\b|\bnew Function\b/, 'dynamic code'], [/\bPromise\.(all|any|race)\b|\.then\(/, 'promise combinators (the KVS docs warn of their memory use)'],
  ];
  for (const [re, what] of banned) assert.doesNotMatch(code, re, `uses ${what}`);
  assert.match(code, /^import cf from 'cloudfront';$/m);
  assert.match(code, /^async function handler\(event\)/m);
  // "Maximum size of a function: 10 KB" (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html)
  assert.ok(Buffer.byteLength(src) < 10240, `${Buffer.byteLength(src)} bytes: over the 10 KB function size limit`);
});
