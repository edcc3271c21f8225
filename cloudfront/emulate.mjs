#!/usr/bin/env node
// Runs the real viewer-request.js as CloudFront would, on a local KeyValueStore:
//
//   node cloudfront/emulate.mjs --kvs FILE [--time] < events.jsonl
//
// FILE is a KeyValueStore import file, {"data":[{"key":...,"value":...}]} (the
// format CloudFront imports a store from:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-create-s3-kvp.html),
// as `dnsreroute edge kvs` prints it. Each line of standard input is a viewer-request
// event (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html);
// each line of output is what the function returned for it: a response
// (statusCode set) or the request sent on to the origin. The raw query string
// that request.rawQueryString() returns is the event's request.rawQueryString
// when it is a string, else it is rebuilt from request.querystring. With --time,
// the mean time per request goes to standard error. Node 20, no dependencies:
// the function's `import cf from 'cloudfront'` is replaced in memory by the
// stand-in below.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// KeyValueStore limits (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html):
// keys up to 512 bytes, values up to 1 KB, 5 MB a store.
const MAX_KEY = 512, MAX_VALUE = 1024, MAX_STORE = 5 * 1024 * 1024;

// parseImportFile checks an import file as CloudFront does on import, and
// returns its records as a Map.
export function parseImportFile(text) {
  const doc = JSON.parse(text);
  if (!doc || !Array.isArray(doc.data)) throw new Error('an import file is {"data":[{"key":...,"value":...}]}');
  const m = new Map();
  let size = 0;
  for (const [i, r] of doc.data.entries()) {
    if (!r || typeof r.key !== 'string' || typeof r.value !== 'string') throw new Error(`data[${i}]: key and value must be strings`);
    const k = Buffer.byteLength(r.key), v = Buffer.byteLength(r.value);
    if (k < 1 || k > MAX_KEY) throw new Error(`data[${i}]: a key is 1 to ${MAX_KEY} bytes, ${r.key.slice(0, 40)}… has ${k}`);
    if (v > MAX_VALUE) throw new Error(`data[${i}]: a value is at most ${MAX_VALUE} bytes, ${r.key.slice(0, 40)}'s has ${v}`);
    if (m.has(r.key)) throw new Error(`data[${i}]: the key ${r.key} appears twice`);
    m.set(r.key, r.value);
    size += k + v;
  }
  if (size > MAX_STORE) throw new Error(`the store holds at most ${MAX_STORE} bytes, this file ${size}`);
  return m;
}

// cloudfrontModule is the stand-in for the runtime's `cloudfront` module: kvs()
// reads store as the documented helpers do
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html):
// get() rejects for a missing key, and parses with format string (default), json or bytes.
export function cloudfrontModule(store, counter = { gets: 0 }) {
  const now = new Date().toISOString();
  const handle = {
    async get(key, options) {
      counter.gets++;
      if (typeof key !== 'string') throw new TypeError('key must be a string');
      if (!store.has(key)) throw new Error(`Key ${key} not found`);
      const v = store.get(key), format = options && options.format || 'string';
      switch (format) {
        case 'string': return v;
        case 'json': return JSON.parse(v);
        case 'bytes': return new Uint8Array(Buffer.from(v));
        default: throw new Error(`unknown format ${format}`);
      }
    },
    async exists(key) {
      counter.gets++;
      return store.has(key);
    },
    async meta() {
      return { creationDateTime: now, lastUpdatedDateTime: now, keyCount: store.size };
    },
  };
  return { kvs: () => handle };
}

const fnFile = fileURLToPath(new URL('./viewer-request.js', import.meta.url));

// loadHandler compiles viewer-request.js against cf, the stand-in module.
export function loadHandler(cf, src = readFileSync(fnFile, 'utf8')) {
  const importLine = /^import cf from 'cloudfront';$/m;
  if (!importLine.test(src)) throw new Error("viewer-request.js does not start with import cf from 'cloudfront'");
  // A script defining handler, as CloudFront runs it; the import becomes a parameter.
  return new Function('cf', src.replace(importLine, '') + '\nreturn handler;')(cf);
}

// withRuntime adds what the runtime gives the event: request.rawQueryString().
export function withRuntime(event) {
  const req = event.request;
  let raw = req.rawQueryString;
  if (typeof raw !== 'string') {
    const parts = [];
    for (const [name, v] of Object.entries(req.querystring || {})) {
      for (const one of v.multiValue || [v]) parts.push(one.value === '' ? name : `${name}=${one.value}`);
    }
    raw = parts.length ? parts.join('&') : undefined;
  }
  Object.defineProperty(req, 'rawQueryString', { value: () => raw, enumerable: false, configurable: true });
  return event;
}

async function main(argv) {
  let file = '', time = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kvs') file = argv[++i];
    else if (argv[i] === '--time') time = true;
    else throw new Error(`unknown argument ${argv[i]}\nusage: node cloudfront/emulate.mjs --kvs FILE [--time] < events.jsonl`);
  }
  if (!file) throw new Error('usage: node cloudfront/emulate.mjs --kvs FILE [--time] < events.jsonl');
  const handler = loadHandler(cloudfrontModule(parseImportFile(readFileSync(file, 'utf8'))));
  const events = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (line.trim() !== '') events.push(line);
  }
  const out = [];
  let spent = 0n;
  for (const [i, line] of events.entries()) {
    let ev;
    try {
      ev = withRuntime(JSON.parse(line));
    } catch (e) {
      throw new Error(`line ${i + 1}: not a viewer-request event: ${e.message}`);
    }
    const t0 = process.hrtime.bigint();
    const res = await handler(ev);
    spent += process.hrtime.bigint() - t0;
    out.push(JSON.stringify(res));
  }
  process.stdout.write(out.length ? out.join('\n') + '\n' : '');
  if (time && events.length) {
    process.stderr.write(`${events.length} requests, ${(Number(spent) / 1000 / events.length).toFixed(1)} µs/request\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`emulate: ${e.message}\n`);
    process.exit(1);
  });
}
