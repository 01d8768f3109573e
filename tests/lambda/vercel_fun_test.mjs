// muster's runtime under a real third-party Lambda environment, @vercel/fun:
// it sends a constant deadline (5000), no Content-Type, answers every post
// with an empty 202, and SIGSTOPs the process between invocations.
//
// Usage: node vercel_fun_test.mjs <test function binary> <peers dir>
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [functionBinary, peersDir] = process.argv.slice(2).map((p) => p && path.resolve(p));
if (!functionBinary || !peersDir) {
  console.error('usage: vercel_fun_test.mjs <function binary> <peers dir>');
  process.exit(2);
}
// No test peer may reach AWS.
for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];

const require = createRequire(path.join(peersDir, 'package.json'));
const { createFunction } = require('@vercel/fun');

const dir = mkdtempSync(path.join(tmpdir(), 'muster-fun-'));
const stderrLog = path.join(dir, 'stderr.log');
const bootstrap = path.join(dir, 'bootstrap');
// The function's stderr goes to a file so the test can read what it logged.
writeFileSync(bootstrap, `#!/bin/sh\nexec '${functionBinary}' 2>>'${stderrLog}'\n`);
chmodSync(bootstrap, 0o755);

const functions = [];
async function make(handler) {
  const fn = await createFunction({
    FunctionName: `muster-${handler}`,
    Code: { Directory: dir },
    Handler: handler,
    Runtime: 'provided',
    MemorySize: 128,
    Timeout: 10,
    Environment: { Variables: { MUSTER_METRICS: 'off' } },
  });
  functions.push(fn);
  return fn;
}

async function invoke(fn, payload) {
  const result = await fn.invoke({ InvocationType: 'RequestResponse', Payload: JSON.stringify(payload) });
  return { ...result, body: JSON.parse(String(result.Payload)) };
}

const checks = [];
async function check(name, body) {
  try {
    await body();
    checks.push(`ok   ${name}`);
  } catch (e) {
    checks.push(`FAIL ${name}: ${e.stack || e}`);
  }
}

try {
  await check('echo, warm and frozen between invocations', async () => {
    const fn = await make('echo');
    for (let i = 0; i < 3; ++i) {
      const r = await invoke(fn, { n: i });
      assert.equal(r.StatusCode, 200);
      assert.equal(r.FunctionError, undefined);
      assert.deepEqual(r.body, { echo: { n: i } });
      await sleep(100); // frozen here
    }
  });

  await check('handler error is Handled and the process is reused', async () => {
    const fn = await make('throw');
    const r1 = await invoke(fn, 'x');
    assert.equal(r1.FunctionError, 'Handled');
    assert.equal(r1.body.errorType, 'std::runtime_error');
    assert.equal(r1.body.errorMessage, 'it broke: "x"');
    const r2 = await invoke(fn, 'y');
    assert.equal(r2.FunctionError, 'Handled');
    assert.equal(r2.body.errorMessage, 'it broke: "y"');
  });

  await check('fan-out without a platform deadline collects every task', async () => {
    const fn = await make('fanout');
    const r = await invoke(fn, { n: 50, task_ms: 20, limit: 10 });
    assert.equal(r.FunctionError, undefined);
    assert.equal(r.body.counts.ok, 50);
  });

  await check('work leaked into the freeze never runs in the next invocation', async () => {
    const fn = await make('leak_timer');
    await invoke(fn, {});
    await sleep(400); // the leaked 100 ms timer is overdue when the process thaws
    await invoke(fn, {});
    await sleep(200);
    await invoke(fn, {});
    const log = readFileSync(stderrLog, 'utf8');
    assert.ok(!log.includes('LEAKED TIMER FIRED'), log);
    assert.ok(log.includes('still pending when the handler returned'), log);
  });

  await check('the non-epoch deadline is warned about, once per process', async () => {
    const log = readFileSync(stderrLog, 'utf8');
    const warning = 'Lambda-Runtime-Deadline-Ms: 5000 is not an epoch time';
    const perProcess = log.split(warning).length - 1;
    assert.equal(perProcess, functions.length, log);
  });
} finally {
  await Promise.all(functions.map((fn) => fn.destroy()));
  rmSync(dir, { recursive: true, force: true });
}

console.log(checks.join('\n'));
process.exit(checks.some((c) => c.startsWith('FAIL')) ? 1 : 0);
