#!/usr/bin/env node
// Verify a socieux proof bundle with nothing but Node.js (>= 18) and its standard library.
//
//   node verify_bundle.js bundle.json [--public-key KEY]
//
// An independent reading of docs/audit.md, sharing no code with the Python verifier: it
// recomputes every event's hash (hash format 1: sorted-key JSON as Python's json.dumps
// writes it; format 2: RFC 8785), checks each hash's RFC 9162 inclusion proof against the
// bundle's tree head, the head's Ed25519 signature when a public key is given (a PEM file,
// or a file or argument of 64 hex characters), the request's chain of prev_hash links from
// version 1 and the definitions' content hashes. The workflow rules are the Python
// verifier's part. Exit status: 0 verified, 6 a problem found, 2 not a bundle or bad usage.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const zlib = require('zlib');

const SCHEMA = 'socieux.proof-bundle/1';
const GENESIS = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;

class FormatError extends Error {}

// ---- JSON, keeping each number's text (format 1 re-prints numbers as Python does) ----
class Num {
  constructor(text) { this.text = text; }
}

function parseJson(text) {
  let i = 0;
  const ws = () => { while (' \t\n\r'.includes(text[i]) && i < text.length) i++; };
  const fail = (why) => { throw new FormatError(`not JSON at character ${i}: ${why}`); };
  function value(depth) {
    if (depth > 200) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"') return string();
    if (text.startsWith('true', i)) { i += 4; return true; }
    if (text.startsWith('false', i)) { i += 5; return false; }
    if (text.startsWith('null', i)) { i += 4; return null; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected character');
    i += m[0].length;
    return new Num(m[0]);
  }
  function string() {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(text.slice(i));
    if (!m) fail('bad string');
    i += m[0].length;
    return JSON.parse(m[0]);
  }
  function object(depth) {
    i++;
    const out = new Map();
    ws();
    if (text[i] === '}') { i++; return out; }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a key');
      const key = string();
      if (out.has(key)) fail(`repeated key ${JSON.stringify(key)}`);
      ws();
      if (text[i++] !== ':') fail('expected :');
      out.set(key, value(depth + 1));
      ws();
      const c = text[i++];
      if (c === '}') return out;
      if (c !== ',') fail('expected , or }');
    }
  }
  function array(depth) {
    i++;
    const out = [];
    ws();
    if (text[i] === ']') { i++; return out; }
    for (;;) {
      out.push(value(depth + 1));
      ws();
      const c = text[i++];
      if (c === ']') return out;
      if (c !== ',') fail('expected , or ]');
    }
  }
  const result = value(0);
  ws();
  if (i !== text.length) fail('trailing text');
  return result;
}

// ---- the two canonical forms ----
const isInt = (t) => /^-?(0|[1-9][0-9]*)$/.test(t);

function pyFloat(x) { // Python's repr of a float: shortest digits, its own layout
  if (!Number.isFinite(x)) throw new Error('NaN or Infinity');
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, exp] = Math.abs(x).toExponential().split('e');
  const digits = mant.replace('.', '');
  const point = Number(exp) + 1; // value = 0.<digits> * 10**point
  const sign = x < 0 ? '-' : '';
  if (point <= -4 || point > 16) {
    const e = point - 1;
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${head}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k] - y[k];
  return x.length - y.length;
}

function format1(v) {
  if (v === null) return 'null';
  if (v === true || v === false) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Num) return isInt(v.text) ? BigInt(v.text).toString() : pyFloat(Number(v.text));
  if (Array.isArray(v)) return `[${v.map(format1).join(',')}]`;
  const keys = [...v.keys()].sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${format1(v.get(k))}`).join(',')}}`;
}

function jcs(v) { // RFC 8785
  if (v === null) return 'null';
  if (v === true || v === false) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Num) {
    if (isInt(v.text) && (BigInt(v.text) > 2n ** 53n || BigInt(v.text) < -(2n ** 53n))) {
      throw new Error(`integer ${v.text} is beyond 2**53`);
    }
    const x = Number(v.text);
    if (!Number.isFinite(x)) throw new Error('not a finite number');
    return String(x); // ECMAScript's Number.prototype.toString, as RFC 8785 prescribes
  }
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const keys = [...v.keys()].sort(); // UTF-16 code units
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(v.get(k))}`).join(',')}}`;
}

const sha256 = (data) => crypto.createHash('sha256').update(data).digest();

function eventHash(event) {
  const fmt = event.get('hash_format');
  const two = fmt instanceof Num && fmt.text === '2';
  return sha256(Buffer.from(two ? jcs(event) : format1(event), 'utf8')).toString('hex');
}

// ---- RFC 9162 ----
const leafHash = (leaf) => sha256(Buffer.concat([Buffer.from([0]), leaf]));
const nodeHash = (l, r) => sha256(Buffer.concat([Buffer.from([1]), l, r]));

function verifyInclusion(index, size, leaf, proof, root) { // RFC 9162 section 2.1.3.2
  if (!(index >= 0 && index < size)) return false;
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

function headMessage(head) {
  return Buffer.from(`socieux.tree-head/1\n${head.size}\n${head.root}\n${head.at}\n`, 'utf8');
}

function publicKey(arg) {
  let text = arg;
  if (fs.existsSync(arg)) text = fs.readFileSync(arg, 'utf8').trim();
  if (text.startsWith('-----BEGIN')) return crypto.createPublicKey(text);
  if (!HEX64.test(text)) throw new FormatError('the public key is neither PEM nor 64 hex characters');
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(text, 'hex')]);
  return crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
}

// ---- the bundle ----
const num = (v) => (v instanceof Num && isInt(v.text) ? Number(v.text) : NaN);
const str = (v) => (typeof v === 'string' ? v : null);

function readHead(h) {
  if (!(h instanceof Map)) throw new FormatError('it has no head');
  const head = { size: num(h.get('size')), root: str(h.get('root')), at: str(h.get('at')),
    signature: str(h.get('signature')), seq: num(h.get('seq')) };
  if (!Number.isSafeInteger(head.size) || head.size < 0 || !HEX64.test(head.root || '') || !head.at) {
    throw new FormatError('its head is not well-formed');
  }
  head.label = Number.isSafeInteger(head.seq) ? `tree head #${head.seq}` : 'tree head';
  return head;
}

function readEvent(e, k) {
  const event = e instanceof Map ? e.get('event') : null;
  if (!(event instanceof Map)) throw new FormatError(`event ${k + 1} is not an object with an event`);
  const proof = e.get('proof');
  const out = { event, hash: str(e.get('hash')), index: num(e.get('index')),
    id: str(event.get('originator_id')), version: num(event.get('originator_version')) };
  if (!HEX64.test(out.hash || '') || !out.id || !Number.isSafeInteger(out.version)
      || !Number.isSafeInteger(out.index) || !Array.isArray(proof)
      || !proof.every((p) => HEX64.test(str(p) || '')) || proof.length > 64) {
    throw new FormatError(`event ${k + 1} is not well-formed`);
  }
  out.proof = proof.map((p) => Buffer.from(p, 'hex'));
  return out;
}

function checkEvents(bundle, head, events, problems) {
  const root = Buffer.from(head.root, 'hex');
  const request = str(bundle.get('instance'));
  let prev = GENESIS;
  let lastIndex = -1;
  events.forEach((e, k) => {
    const where = `${e.id} v${e.version}`;
    let recomputed;
    try { recomputed = eventHash(e.event); } catch (err) { recomputed = `(${err.message})`; }
    if (recomputed !== e.hash) problems.push(`altered: ${where}: its content no longer matches its hash`);
    if (!verifyInclusion(e.index, head.size, leafHash(Buffer.from(e.hash, 'hex')), e.proof, root)) {
      problems.push(`altered: ${where}: not in the log under ${head.label}: its inclusion proof does not lead to the head's root`);
    }
    if (e.id !== request) problems.push(`inserted: ${where}: an event of another request, not ${request}`);
    if (e.version !== k + 1) problems.push(`missing: ${where}: expected version ${k + 1} here`);
    if (str(e.event.get('prev_hash')) !== prev) problems.push(`inserted: ${where}: does not follow the event before it`);
    if (e.index <= lastIndex) problems.push(`reordered: ${where}: leaf ${e.index} comes after ${lastIndex}`);
    prev = e.hash;
    lastIndex = Math.max(lastIndex, e.index);
  });
}

function checkDefinitions(bundle, problems) {
  const defs = bundle.get('definitions') || [];
  if (!Array.isArray(defs)) throw new FormatError('its definitions are not a list');
  defs.forEach((d, k) => {
    const digest = d instanceof Map ? str(d.get('hash')) : null;
    const body = d instanceof Map ? d.get('definition') : null;
    if (!(body instanceof Map) || sha256(Buffer.from(format1(body), 'utf8')).toString('hex') !== digest) {
      problems.push(`altered: definition ${k + 1}: it no longer matches its hash`);
    }
  });
}

// A bundle written to a .gz file is gzip-compressed JSON (RFC 1952): inflate it, at most
// 64 MiB of it, as the Python verifier does.
function readText(path) {
  const raw = fs.readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    return zlib.gunzipSync(raw, { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8');
  }
  return raw.toString('utf8');
}

function verify(path, key) {
  let bundle;
  try { bundle = parseJson(readText(path)); } catch (err) {
    throw new FormatError(err instanceof FormatError ? err.message : `cannot read ${path}`);
  }
  if (!(bundle instanceof Map) || bundle.get('schema') !== SCHEMA) {
    throw new FormatError(`its schema is not ${SCHEMA}`);
  }
  const head = readHead(bundle.get('head'));
  const raw = bundle.get('events');
  if (!Array.isArray(raw) || raw.length === 0) throw new FormatError('it holds no events');
  const events = raw.map(readEvent);
  const problems = [];
  if (key) {
    const sig = head.signature && /^[0-9a-f]{128}$/.test(head.signature) ? Buffer.from(head.signature, 'hex') : null;
    if (!sig) problems.push(`head: ${head.label}: is not signed, but a public key was given`);
    else if (!crypto.verify(null, headMessage(head), key, sig)) {
      problems.push(`head: ${head.label}: its signature does not verify with the given public key`);
    }
  }
  checkEvents(bundle, head, events, problems);
  checkDefinitions(bundle, problems);
  return { head, events, problems, request: str(bundle.get('instance')) };
}

function main(argv) {
  const args = argv.slice(2);
  const at = args.indexOf('--public-key');
  const keyArg = at >= 0 ? args.splice(at, 2)[1] : null;
  if (args.length !== 1 || (at >= 0 && !keyArg)) {
    process.stderr.write('usage: node verify_bundle.js BUNDLE [--public-key KEY]\n');
    return 2;
  }
  try {
    const key = keyArg ? publicKey(keyArg) : null;
    const r = verify(args[0], key);
    for (const p of r.problems) process.stdout.write(`${p}\n`);
    const verdict = r.problems.length ? `${r.problems.length} problem(s)` : 'OK';
    process.stdout.write(`proof bundle of ${r.request}: ${r.events.length} events against ${r.head.label} (${r.head.size} events, root ${r.head.root.slice(0, 16)}): ${verdict}\n`);
    return r.problems.length ? 6 : 0;
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    process.stderr.write(`error[invalid_argument]: not a proof bundle: ${err.message}\n`);
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv);
module.exports = { eventHash, format1, jcs, parseJson, pyFloat, verify, verifyInclusion };
