// `./dev test [unit|integration|FILTER...]`: runs the test suites with Node's test runner.
// Integration tests start real control planes (test/testbed), so the binaries are built first, once.
// Files run two at a time (the CI machine has two cores); each integration file shares its control
// plane among its tests, with a namespace per test.
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { ensureBinaries } from '../test/testbed/binaries.ts';

const args = process.argv.slice(2);
const all = globSync('test/{unit,integration,e2e}/**/*.test.ts').sort();
const files = args.length ? all.filter((file) => args.some((arg) => file.includes(arg))) : all;
if (files.length === 0) {
  process.stderr.write(`no test files match ${args.join(' ')}\n`);
  process.exit(2);
}
if (files.some((file) => !file.startsWith('test/unit/'))) {
  const started = performance.now();
  await ensureBinaries((line) => process.stderr.write(`testbed: ${line}\n`));
  process.stderr.write(`testbed: binaries ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.ARGUS_TEST_CONCURRENCY ?? 2}`,
    '--test-timeout=600000',
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
