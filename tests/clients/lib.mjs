// Shared by the node client suites: where Portico is (from the environment run.sh sets), the
// message registry built at run time from the FileDescriptorSet protoc wrote of tests/protos (no
// code generation), and a tiny case runner printing "ok   <suite>: <case>" or "FAIL <suite>:
// <case>: <why>" per case and "<suite>: N passed, M failed" last.
//
// Environment: PLAIN (host:port of Portico without TLS), TLS (host:port of Portico with TLS; empty
// when it did not start), CA_FILE (the CA that signed Portico's certificate), DESCRIPTOR_SET.

import { readFileSync } from 'node:fs';
import { createFileRegistry, fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

export const PLAIN = process.env.PLAIN || '';
export const TLS = process.env.TLS || '';
export const CA = process.env.CA_FILE ? readFileSync(process.env.CA_FILE) : null;
export const CASE_TIMEOUT_MS = 15_000;

export function loadRegistry(path = process.env.DESCRIPTOR_SET) {
  if (!path) throw new Error('DESCRIPTOR_SET is not set');
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path)));
}

export const registry = loadRegistry();
export const TestService = registry.getService('portico.test.v1.TestService');
export function schema(name) {
  const s = registry.getMessage(name);
  if (!s) throw new Error(`descriptor set has no message ${name}`);
  return s;
}

export class Suite {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failed = 0;
  }

  // Runs fn with a deadline; a case that throws or outlives it fails with the reason.
  async case(name, fn, timeoutMs = CASE_TIMEOUT_MS) {
    const started = Date.now();
    let timer;
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no result after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.passed += 1;
      console.log(`ok   ${this.name}: ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      this.failed += 1;
      console.log(`FAIL ${this.name}: ${name}: ${describe(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  notRun(name, why) {
    this.failed += 1;
    console.log(`FAIL ${this.name}: ${name}: not run: ${why}`);
  }

  finish() {
    console.log(`${this.name}: ${this.passed} passed, ${this.failed} failed`);
    process.exitCode = this.failed === 0 && this.passed > 0 ? 0 : 1;
  }
}

// One line naming the error, its code and its cause (ECONNREFUSED, a protocol error, ...).
export function describe(e) {
  if (!e) return String(e);
  const parts = [e.message ? e.message.split('\n')[0] : String(e)];
  if (e.code !== undefined && !parts[0].includes(String(e.code))) parts.push(`code=${e.code}`);
  let cause = e.cause;
  for (let depth = 0; cause && depth < 3; ++depth, cause = cause.cause) {
    parts.push(`cause: ${cause.code || ''} ${cause.message || cause}`.trim());
  }
  return parts.join('; ');
}

export function eq(actual, expected, what) {
  const a = JSON.stringify(actual, bigints);
  const b = JSON.stringify(expected, bigints);
  if (a !== b) throw new Error(`${what}: got ${a}, want ${b}`);
}

export function ok(condition, what) {
  if (!condition) throw new Error(what);
}

function bigints(_key, value) {
  return typeof value === 'bigint' ? `${value}n` : value;
}

// Runs the suite's main and ends the process even if a client leaves a socket open.
export function main(fn) {
  fn()
    .catch((e) => {
      console.log(`FAIL: suite crashed: ${describe(e)}`);
      process.exitCode = 1;
    })
    .finally(() => setTimeout(() => process.exit(process.exitCode ?? 0), 50));
}
