// `argus operator`: the compliance operator (src/operator/, docs/adr/0016-compliance-operator.md). Flags name
// the runner namespace and image of the scan Jobs, the target cluster, and the probe and webhook endpoints.
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { KubeClient } from '../kube/client.ts';
import { LeaderElectionLost, shutdownSignal } from '../kube/manager.ts';
import { loadDefaultOptions } from '../operator/scan/config.ts';
import {
  DEFAULT_JOB_SERVICE_ACCOUNT,
  DEFAULT_MAX_RUNNING_SCANS,
  DEFAULT_SCAN_TIMEOUT_SECONDS,
} from '../operator/names.ts';
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, manifestsYaml, operatorManifests } from '../operator/manifests.ts';
import { Operator, type OperatorOptions } from '../operator/operator.ts';
import { parseServiceAccount } from '../operator/rbac.ts';
import { catalog } from '../scanner/catalog.ts';
import { errorMessage, logger } from '../util/log.ts';
import { version } from './version.ts';

interface Flags {
  kubeconfig?: string;
  targetKubeconfig?: string;
  targetServer?: string;
  runnerNamespace?: string;
  image: string;
  imagePullPolicy?: string;
  jobServiceAccount: string;
  scanTimeout: string;
  defaultOptions?: string;
  leaderElect: boolean;
  healthProbeBindAddress: string;
  concurrency: string;
  maxRunningScans: string;
  webhookPort: string;
  webhookHost?: string;
  webhookUrl?: string;
  webhookService?: string;
  webhookDnsNames?: string;
  webhookIpAddresses?: string;
}

/** `90s`, `10m`, `1h30m` or plain seconds, as whole seconds. */
export function parseDuration(value: string, flag: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+)(h|m|s)/gy;
  let seconds = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    seconds += Number(m[1]) * { h: 3600, m: 60, s: 1 }[m[2] as 'h' | 'm' | 's'];
    matched = re.lastIndex;
  }
  if (matched !== text.length || text.length === 0) {
    throw new Error(`${flag}: invalid duration ${JSON.stringify(value)} (examples: 600, 90s, 10m, 1h30m)`);
  }
  return seconds;
}

/** `host:port` or `:port` (all addresses). */
export function parseBindAddress(value: string, flag: string): { host?: string; port: number } {
  const i = value.lastIndexOf(':');
  const port = Number(value.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag}: expected [host]:port, got ${JSON.stringify(value)}`);
  }
  const host = value.slice(0, i).replace(/^\[|\]$/g, '');
  return host ? { host, port } : { port };
}

function checkFlags(flags: Flags) {
  const runnerNamespace = flags.runnerNamespace ?? process.env.POD_NAMESPACE;
  if (!runnerNamespace) throw new Error('--runner-namespace is required (or set POD_NAMESPACE)');
  parseServiceAccount(flags.jobServiceAccount);
  const timeoutSeconds = parseDuration(flags.scanTimeout, '--scan-timeout');
  if (timeoutSeconds < 1) throw new Error('--scan-timeout must be at least 1s');
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency must be a positive integer');
  const maxRunningScans = Number(flags.maxRunningScans);
  if (!Number.isInteger(maxRunningScans) || maxRunningScans < 0) {
    throw new Error('--max-running-scans must be a whole number (0: no limit)');
  }
  const probes = parseBindAddress(flags.healthProbeBindAddress, '--health-probe-bind-address');
  const defaults = flags.defaultOptions ? loadDefaultOptions(flags.defaultOptions, catalog) : undefined;
  return {
    runnerNamespace,
    timeoutSeconds,
    concurrency,
    maxRunningScans,
    probes,
    defaults,
    webhooks: webhookSettings(flags),
  };
}

/** The admission webhooks: on when kube-apiserver can be told where they are (--webhook-url or --webhook-service). */
function webhookSettings(flags: Flags): OperatorOptions['webhooks'] {
  if (flags.webhookUrl && flags.webhookService)
    throw new Error('--webhook-url and --webhook-service exclude each other');
  if (!flags.webhookUrl && !flags.webhookService) return undefined;
  const port = Number(flags.webhookPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--webhook-port: invalid port ${flags.webhookPort}`);
  const list = (value: string | undefined) =>
    value
      ?.split(',')
      .map((v) => v.trim())
      .filter(Boolean);
  const dnsNames = list(flags.webhookDnsNames);
  const ipAddresses = list(flags.webhookIpAddresses);
  const common = {
    port,
    ...(flags.webhookHost ? { host: flags.webhookHost } : {}),
    ...(dnsNames?.length ? { dnsNames } : {}),
    ...(ipAddresses?.length ? { ipAddresses } : {}),
  };
  if (flags.webhookUrl) {
    let url: URL;
    try {
      url = new URL(flags.webhookUrl);
      if (url.protocol !== 'https:') throw new Error('not https');
    } catch {
      throw new Error(`--webhook-url: expected an https URL, got ${JSON.stringify(flags.webhookUrl)}`);
    }
    // Without names, the certificate is for the URL's host.
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const names =
      dnsNames?.length || ipAddresses?.length ? {} : isIP(host) ? { ipAddresses: [host] } : { dnsNames: [host] };
    return { ...common, ...names, url: flags.webhookUrl };
  }
  const [namespace, name, ...rest] = flags.webhookService!.split('/');
  if (!namespace || !name || rest.length > 0) {
    throw new Error(`--webhook-service: expected <namespace>/<name>, got ${JSON.stringify(flags.webhookService)}`);
  }
  return { ...common, service: { namespace, name } };
}

export function registerOperator(program: Command): void {
  const command = program.command('operator');
  command
    .command('manifests')
    .description('print the manifests that run the operator in a cluster (the same objects as the Helm chart)')
    .option('--namespace <name>', 'namespace of the operator', DEFAULT_NAMESPACE)
    .option('--image <image>', 'the argus image of the operator and its Jobs', DEFAULT_IMAGE)
    .option('--runner-namespace <name>', 'namespace of the scan Jobs (default: --namespace)')
    .option('--target-kubeconfig-secret <name>', 'Secret (key kubeconfig) for a remote target; absent: this cluster')
    .option(
      '--job-service-account <namespace/name>',
      'target ServiceAccount the Jobs act as',
      DEFAULT_JOB_SERVICE_ACCOUNT,
    )
    .option('--replicas <n>', 'replicas (one leads)', '2')
    .option('--no-webhooks', 'without the admission webhooks')
    .action(
      (flags: {
        namespace: string;
        image: string;
        runnerNamespace?: string;
        targetKubeconfigSecret?: string;
        jobServiceAccount: string;
        replicas: string;
        webhooks: boolean;
      }) => {
        const replicas = Number(flags.replicas);
        if (!Number.isInteger(replicas) || replicas < 1) {
          process.stderr.write('argus operator manifests: --replicas must be a positive integer\n');
          process.exitCode = 2;
          return;
        }
        process.stdout.write(
          manifestsYaml(
            operatorManifests({
              namespace: flags.namespace,
              image: flags.image,
              replicas,
              jobServiceAccount: flags.jobServiceAccount,
              webhooks: flags.webhooks,
              ...(flags.runnerNamespace ? { runnerNamespace: flags.runnerNamespace } : {}),
              ...(flags.targetKubeconfigSecret ? { targetKubeconfigSecret: flags.targetKubeconfigSecret } : {}),
            }),
          ),
        );
      },
    );
  command
    .description('ComplianceScan and ScheduledComplianceScan controllers: scan Jobs on this cluster, scans on a target')
    .option('--kubeconfig <path>', 'the cluster the operator and its Jobs run in (default: $KUBECONFIG, in-cluster)')
    .option('--target-kubeconfig <path>', 'the cluster whose ComplianceScans are reconciled (default: --kubeconfig)')
    .option('--target-server <url>', 'the target API server as scan Jobs reach it (default: as the operator does)')
    .option('--runner-namespace <name>', 'namespace of the scan Jobs (default: $POD_NAMESPACE)')
    .option('--image <image>', 'the argus image of the scan Jobs and ops pods', DEFAULT_IMAGE)
    .option('--image-pull-policy <policy>', 'imagePullPolicy of the scan Jobs')
    .option(
      '--job-service-account <namespace/name>',
      'target ServiceAccount the Jobs get tokens of',
      DEFAULT_JOB_SERVICE_ACCOUNT,
    )
    .option('--scan-timeout <duration>', 'deadline of a scan Job', `${DEFAULT_SCAN_TIMEOUT_SECONDS}s`)
    .option('--default-options <path>', 'diki configuration with the default ruleset and rule options')
    .option('--leader-elect', 'elect a leader among replicas (Lease in the runner namespace)', false)
    .option('--health-probe-bind-address <address>', '/healthz, /readyz and /metrics', ':8081')
    .option('--concurrency <n>', 'scans reconciled at once', '8')
    .option(
      '--max-running-scans <n>',
      'scan Jobs running at once; more scans wait Pending, oldest first (0: no limit)',
      String(DEFAULT_MAX_RUNNING_SCANS),
    )
    .option('--webhook-port <port>', 'HTTPS port of the admission webhooks', '9443')
    .option('--webhook-host <address>', 'address the admission webhooks listen on (default all)')
    .option('--webhook-url <url>', 'base URL kube-apiserver calls the webhooks at (a target outside this cluster)')
    .option('--webhook-service <namespace/name>', 'Service in front of the webhooks (target = this cluster)')
    .option('--webhook-dns-names <names>', 'DNS names of the webhook certificate, comma-separated')
    .option('--webhook-ip-addresses <ips>', 'IP addresses of the webhook certificate, comma-separated')
    .action(async (flags: Flags) => {
      let settings: ReturnType<typeof checkFlags>;
      try {
        settings = checkFlags(flags);
      } catch (err) {
        // Bad flags or a bad defaults file: a usage error (exit 2), as for `argus scan`.
        process.stderr.write(`argus operator: ${errorMessage(err)}\n`);
        process.exitCode = 2;
        return;
      }
      const { runnerNamespace, timeoutSeconds, concurrency, maxRunningScans, probes, defaults, webhooks } = settings;
      const runner = KubeClient.fromOptions({ kubeconfig: flags.kubeconfig, userAgent: `argus-operator/${version}` });
      const target = flags.targetKubeconfig
        ? KubeClient.fromOptions({ kubeconfig: flags.targetKubeconfig, userAgent: `argus-operator/${version}` })
        : runner;
      const operator = new Operator({
        runner,
        target,
        runnerNamespace,
        image: flags.image,
        imagePullPolicy: flags.imagePullPolicy,
        jobServiceAccount: flags.jobServiceAccount,
        timeoutSeconds,
        targetServer: flags.targetServer,
        defaults,
        ...(flags.leaderElect ? { leaderElection: {} } : {}),
        probes,
        concurrency,
        maxRunningScans,
        ...(webhooks ? { webhooks } : {}),
      });
      const log = logger('operator');
      log.info({ runnerNamespace, image: flags.image, target: target.server, webhooks: !!webhooks }, 'starting');
      if (!webhooks) log.warn('no --webhook-url or --webhook-service: admission webhooks are off');
      try {
        await operator.run(shutdownSignal());
      } catch (err) {
        if (err instanceof LeaderElectionLost) {
          log.error('leader election lost; exiting to restart clean');
          process.exitCode = 1;
          return;
        }
        throw err;
      } finally {
        await Promise.all([runner.close(), target === runner ? undefined : target.close()]);
      }
    });
}
