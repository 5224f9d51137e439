// The scan controller's pure parts: outcomes of finished Jobs, conditions, the Job's shape, option merging and
// the operator's flag parsing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { ComplianceScan } from '../../../src/api/diki/compliancescan.ts';
import { parseBindAddress, parseDuration } from '../../../src/cli/operator.ts';
import { EXPORT_CONTAINER, SCAN_CONTAINER, SCAN_UID_LABEL } from '../../../src/operator/names.ts';
import { mergeArgs, mergeRuleOptions } from '../../../src/operator/scan/config.ts';
import { scanJob, scanOf, targetKubeconfig } from '../../../src/operator/scan/job.ts';
import { jobResult, scanOutcome, statusForPhase } from '../../../src/operator/scan/outcome.ts';

const uid = '0b7c8a4e-1111-4222-8333-444455556666';
const scan = (extra: Partial<ComplianceScan> = {}): ComplianceScan => ({
  metadata: { name: 'weekly', uid },
  spec: { outputs: [{ name: 'cm' }, { name: 'hook', optional: true }] },
  ...extra,
});
const finished = (type: 'Complete' | 'Failed', reason?: string): V1Job => ({
  status: { conditions: [{ type, status: 'True', ...(reason ? { reason } : {}) }] },
});
const pod = (scanExit: number | undefined, exportExit?: number, message = 'boom'): V1Pod => ({
  metadata: { creationTimestamp: new Date() },
  status: {
    ...(scanExit !== undefined
      ? {
          initContainerStatuses: [
            {
              name: SCAN_CONTAINER,
              image: 'argus',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: scanExit, message } },
            },
          ],
        }
      : {}),
    ...(exportExit !== undefined
      ? {
          containerStatuses: [
            {
              name: EXPORT_CONTAINER,
              image: 'argus',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: exportExit, message } },
            },
          ],
        }
      : {}),
  },
});

describe('scan outcome', () => {
  test('a running Job has no result; Complete and Failed conditions do', () => {
    assert.equal(jobResult({ status: { active: 1 } }), undefined);
    assert.equal(jobResult({ status: { conditions: [{ type: 'Complete', status: 'False' }] } }), undefined);
    assert.equal(jobResult(finished('Complete')), 'Complete');
    assert.equal(jobResult(finished('Failed')), 'Failed');
  });

  test('completed Job with every required output Completed: Completed, a failed optional output only warns', () => {
    const s = scan({
      status: {
        outputs: [
          { outputName: 'cm', phase: 'Completed' },
          { outputName: 'hook', phase: 'Failed', reason: 'WebhookFailed', message: '503' },
        ],
        summary: { passed: 3, failed: 1, errored: 0 },
      },
    });
    const outcome = scanOutcome(s, finished('Complete'), [], 600);
    assert.equal(outcome.phase, 'Completed');
    assert.equal(outcome.reason, 'ComplianceScanCompleted');
    assert.match(outcome.message, /3 passed, 1 failed, 0 errored/);
    assert.deepEqual(outcome.warnings, ['output hook failed: WebhookFailed: 503']);
    assert.deepEqual(outcome.failedOutputReasons, ['WebhookFailed']);
  });

  test('a failed or unreported required output fails the scan with its reason', () => {
    const failed = scanOutcome(
      scan({
        status: { outputs: [{ outputName: 'cm', phase: 'Failed', reason: 'ReportTooLarge', message: 'too big' }] },
      }),
      finished('Complete'),
      [],
      600,
    );
    assert.equal(failed.phase, 'Failed');
    assert.equal(failed.reason, 'OutputFailed');
    assert.match(failed.message, /output cm failed: ReportTooLarge: too big/);
    const unreported = scanOutcome(scan({ status: {} }), finished('Complete'), [], 600);
    assert.equal(unreported.phase, 'Failed');
    assert.match(unreported.message, /output cm failed: OutputNotReported/);
  });

  test('a failed Job: deadline, scanner, exporter, or the Job condition', () => {
    const deadline = scanOutcome(scan(), finished('Failed', 'DeadlineExceeded'), [pod(undefined)], 90);
    assert.deepEqual([deadline.phase, deadline.reason], ['Failed', 'DeadlineExceeded']);
    assert.match(deadline.message, /within 90s \(still scanning\)/);
    const scanner = scanOutcome(
      scan(),
      finished('Failed', 'BackoffLimitExceeded'),
      [pod(2, undefined, 'bad config')],
      90,
    );
    assert.deepEqual([scanner.reason, scanner.message], ['ScanFailed', 'bad config']);
    const exporter = scanOutcome(scan(), finished('Failed', 'BackoffLimitExceeded'), [pod(0, 1, 'no status')], 90);
    assert.deepEqual([exporter.reason, exporter.message], ['ExportFailed', 'no status']);
    const other = scanOutcome(scan(), finished('Failed', 'PodFailurePolicy'), [], 90);
    assert.equal(other.reason, 'PodFailurePolicy');
  });

  test('conditions keep their times when written again and are added per phase', () => {
    const first = statusForPhase(undefined, 'Completed', 't1', 'ComplianceScanCompleted', 'done');
    assert.equal(first.phase, 'Completed');
    assert.deepEqual(first.conditions, [
      {
        type: 'Completed',
        status: 'True',
        lastUpdateTime: 't1',
        lastTransitionTime: 't1',
        reason: 'ComplianceScanCompleted',
        message: 'done',
      },
    ]);
    const again = statusForPhase({ ...first }, 'Completed', 't2', 'ComplianceScanCompleted', 'done');
    assert.deepEqual(again, first);
    assert.deepEqual(statusForPhase(undefined, 'Running', 't'), { phase: 'Running', conditions: [] });
  });
});

describe('scan Job', () => {
  test('is suspended, never retried, deadline bound, without cluster token, and runs the two containers', () => {
    const job = scanJob(scan(), { namespace: 'shoot--a', image: 'argus:1', timeoutSeconds: 300 });
    assert.equal(job.metadata?.name, `diki-run-${uid}`);
    assert.equal(job.spec?.suspend, true);
    assert.equal(job.spec?.backoffLimit, 0);
    assert.equal(job.spec?.activeDeadlineSeconds, 300);
    const podSpec = job.spec.template.spec!;
    assert.equal(podSpec.automountServiceAccountToken, false);
    assert.equal(podSpec.securityContext?.runAsNonRoot, true);
    assert.deepEqual(
      podSpec.initContainers?.map((c) => c.name),
      [SCAN_CONTAINER],
    );
    assert.deepEqual(
      podSpec.containers.map((c) => c.name),
      [EXPORT_CONTAINER],
    );
    assert.deepEqual(podSpec.containers[0]!.args?.slice(0, 2), ['run', 'export']);
    assert.ok(podSpec.containers[0]!.args?.includes('weekly'));
    assert.deepEqual(scanOf(job), { name: 'weekly', uid });
    assert.equal(job.metadata?.labels?.[SCAN_UID_LABEL], uid);
  });

  test('a scan name too long for a label is kept in the annotation only', () => {
    const name = 'a'.repeat(100);
    const job = scanJob(scan({ metadata: { name, uid } }), { namespace: 'n', image: 'argus', timeoutSeconds: 1 });
    assert.equal(job.metadata?.labels?.['compliancescan.diki.gardener.cloud/name'], undefined);
    assert.deepEqual(scanOf(job), { name, uid });
  });

  test('kubeconfig of the Job carries the server, CA and token only', () => {
    const kubeconfig = parseYaml(targetKubeconfig({ server: 'https://api:443', caData: 'PEM', token: 't0k' })) as {
      clusters: { cluster: Record<string, unknown> }[];
      users: { user: Record<string, unknown> }[];
    };
    assert.equal(kubeconfig.clusters[0]!.cluster.server, 'https://api:443');
    assert.equal(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], Buffer.from('PEM').toString('base64'));
    assert.deepEqual(kubeconfig.users[0]!.user, { token: 't0k' });
  });
});

describe('rule options', () => {
  test('ruleset args merge key by key; rule options are replaced per rule', () => {
    assert.deepEqual(mergeArgs({ a: 1, b: 2 }, { b: 3 }), { a: 1, b: 3 });
    assert.deepEqual(mergeArgs(undefined, { b: 3 }), { b: 3 });
    assert.deepEqual(mergeArgs({ a: 1 }, undefined), { a: 1 });
    assert.deepEqual(
      mergeRuleOptions(
        [
          { ruleID: '2000', skip: { enabled: true, justification: 'default' } },
          { ruleID: '2001', args: { x: 1 } },
        ],
        [{ ruleID: '2000', args: { acceptedNamespaces: [] } }, { ruleID: '2003' }],
      ),
      [{ ruleID: '2000', args: { acceptedNamespaces: [] } }, { ruleID: '2001', args: { x: 1 } }, { ruleID: '2003' }],
    );
  });
});

describe('operator flags', () => {
  test('durations and bind addresses', () => {
    assert.equal(parseDuration('600', '--x'), 600);
    assert.equal(parseDuration('10m', '--x'), 600);
    assert.equal(parseDuration('1h30m5s', '--x'), 5405);
    assert.throws(() => parseDuration('5x', '--scan-timeout'), /--scan-timeout: invalid duration "5x"/);
    assert.throws(() => parseDuration('', '--x'), /invalid duration/);
    assert.deepEqual(parseBindAddress(':8081', '--p'), { port: 8081 });
    assert.deepEqual(parseBindAddress('127.0.0.1:0', '--p'), { host: '127.0.0.1', port: 0 });
    assert.throws(() => parseBindAddress('8081', '--health-probe-bind-address'), /--health-probe-bind-address/);
  });
});

describe('argus operator manifests', () => {
  test('prints the chart’s objects for a namespace, and refuses bad flags', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['src/cli/main.ts', 'operator', 'manifests', ...args], { encoding: 'utf8' });
    const ok = run('--namespace', 'compliance', '--no-webhooks');
    assert.equal(ok.status, 0, ok.stderr);
    const kinds: string[] = ok.stdout.match(/^kind: \w+/gm) ?? [];
    assert.ok(kinds.includes('kind: Deployment'));
    assert.ok(!kinds.includes('kind: ValidatingWebhookConfiguration'));
    assert.match(ok.stdout, /--runner-namespace=compliance/);
    const bad = run('--replicas', 'none');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--replicas/);
  });
});
