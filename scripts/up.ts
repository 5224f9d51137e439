// `./dev up`: Argus on its embedded defaults on this machine. Starts a local Kubernetes control plane
// (etcd, kube-apiserver, kube-controller-manager) with a node agent that runs Argus pods, then the
// Argus components that exist, and says how to reach them. Ctrl-C stops everything and cleans up.
// Options: --name NAME (default "argus"), --exit-when-ready (start, print, stop; used by tests).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dikiCrds } from '../src/api/diki/index.ts';
import { readAuthenticationConfig } from '../src/kube/authn-config.ts';
import { Resources } from '../src/kube/resources.ts';
import { Operator } from '../src/operator/operator.ts';
import { operatorTargetRbac } from '../src/operator/rbac.ts';
import { ReportsServer } from '../src/reports-server/server.ts';
import { openStorage, type ReportStorage } from '../src/reports-server/storage/index.ts';
import { version } from '../src/cli/version.ts';
import { errorMessage } from '../src/util/log.ts';
import { waitFor } from '../src/util/time.ts';
import { createCA, issueCertificate } from '../src/util/pki.ts';
import { registerAPIService } from '../test/testbed/aggregation.ts';
import { cacheRoot } from '../test/testbed/binaries.ts';
import { applyManifests } from '../test/support/operator.ts';
import { ControlPlane } from '../test/testbed/controlplane.ts';
import { NodeAgent } from '../test/testbed/node-agent/index.ts';

const { values } = parseArgs({
  options: { name: { type: 'string', default: 'argus' }, 'exit-when-ready': { type: 'boolean', default: false } },
});
const say = (line: string): void => void process.stdout.write(`${line}\n`);

const started = performance.now();
say('argus up: starting a local control plane (the first run builds it from source, which takes minutes)');
const cp = await ControlPlane.start({ name: values.name, log: (line) => say(`  ${line}`) }).catch((err: unknown) => {
  // Missing Go, a failed module download or a component that would not start: the message says which.
  process.stderr.write(`argus up: ${errorMessage(err)}\n`);
  process.exit(1);
});
let agent: NodeAgent | undefined;
let storage: ReportStorage | undefined;
let reports: ReportsServer | undefined;
let operator: { stop: () => Promise<void> } | undefined;
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nargus up: stopping');
    await operator?.stop();
    await reports?.close();
    await storage?.close();
    await agent?.stop();
    await cp.stop();
  }
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  // With a kubelet API, so that kubectl exec/logs and the scanner's node rules work against the node.
  agent = await NodeAgent.start(cp, { name: `${values.name}-node`, kubelet: {} });
  const dir = join(cacheRoot(), 'up', values.name);
  mkdirSync(dir, { recursive: true });
  const kubeconfig = cp.writeKubeconfig(join(dir, 'kubeconfig'));
  const reportsDb = join(dir, 'reports.db');
  await startReportsServer(reportsDb);
  await startOperator();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(`
Argus is up (${seconds} s).

  Kubernetes API   ${cp.server}
  kubeconfig       ${kubeconfig}   (cluster-admin)
  node             ${agent.name}: runs pods whose image is "argus" as local processes; kubelet API at ${agent.internalIP}
  kubectl          ${cp.binaries.kubectl}

Try:
  export KUBECONFIG=${kubeconfig}
  ${cp.binaries.kubectl} get nodes,namespaces
  ./dev argus debug whoami
  ./dev argus scan --output html=argus-report.html     # every ruleset, including the node rules
  ./dev argus scan --output policyreport=reports.yaml && ${cp.binaries.kubectl} apply -f reports.yaml
  ${cp.binaries.kubectl} get polr -A                    # PolicyReports served from ${reportsDb}
  ${cp.binaries.kubectl} create -f - <<'EOF'                # a ComplianceScan, run by the operator in a Job
apiVersion: diki.gardener.cloud/v1alpha1
kind: ComplianceScan
metadata: {name: first-scan}
spec: {rulesets: [{id: security-hardened-k8s}], outputs: [{name: configmap}]}
EOF
  ${cp.binaries.kubectl} get cscan -w                   # Pending, Running, Completed with passed and failed rules

Components: the control plane, the node agent, the scanner, the reports API server (SQLite) and the
compliance operator (Jobs in argus-system, admission webhooks; ReportOutput "configmap" writes to
kube-system) run now; the
extensions and attestation controllers join here as they are built.
Press Ctrl-C to stop; everything started here is removed.`);
  if (values['exit-when-ready']) await shutdown(0);
} catch (err) {
  process.stderr.write(`argus up: ${errorMessage(err)}\n`);
  await shutdown(1);
}

/**
 * The compliance operator with the cluster as both target and runner: the diki CRDs, the runner ServiceAccount
 * with its RBAC, a ReportOutput to a ConfigMap, and the operator (cluster-admin here) with Jobs in argus-system.
 */
async function startOperator(): Promise<void> {
  const client = cp.client('argus-up/operator');
  const manifests = [...dikiCrds(), ...operatorTargetRbac({ operator: { kind: 'User', name: 'argus-operator' } })];
  await applyManifests(cp, manifests);
  await client.create(Resources.namespaces, { metadata: { name: 'argus-system' } });
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/reportoutputs.diki.gardener.cloud']);
  const output = [
    'apiVersion: diki.gardener.cloud/v1alpha1',
    'kind: ReportOutput',
    'metadata: {name: configmap}',
    'spec: {output: {configMap: {}}}',
  ];
  const created = await cp.kubectl(['create', '-f', '-'], output.join('\n'));
  if (created.code !== 0) throw new Error(`creating the ReportOutput: ${created.stderr}`);
  const running = new Operator({
    runner: client,
    target: client,
    runnerNamespace: 'argus-system',
    image: 'argus',
    jobServiceAccount: 'kube-system/argus-runner',
    timeoutSeconds: 600,
    webhooks: { host: '127.0.0.1', ipAddresses: ['127.0.0.1'], url: (port) => `https://127.0.0.1:${port}` },
  });
  const abort = new AbortController();
  const done = running
    .run(abort.signal)
    .catch((err: unknown) => say(`argus up: operator stopped: ${errorMessage(err)}`));
  await waitFor('the admission webhooks', () => running.webhooks !== undefined, { timeoutMs: 60_000 });
  operator = {
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

/** The reports API server on SQLite, registered with kube-apiserver through the aggregation layer. */
async function startReportsServer(path: string): Promise<void> {
  const client = cp.client('argus-up/reports-server');
  const ca = await createCA('argus-up-reports');
  const groups = [
    ['wgpolicyk8s.io', 'v1alpha2', 'wgpolicyk8s'],
    ['openreports.io', 'v1alpha1', 'openreports'],
    ['reports.argus.io', 'v1alpha1', 'argus-analytics'],
  ] as const;
  const serving = await issueCertificate(ca, {
    commonName: 'argus-reports.default.svc',
    hosts: [...groups.map(([, , service]) => `${service}.default.svc`), '127.0.0.1', 'localhost'],
    usage: 'server',
  });
  storage = await openStorage({ backend: 'sqlite', path });
  reports = new ReportsServer({
    storage,
    serving: { cert: serving.certPem, key: serving.keyPem },
    host: '127.0.0.1',
    port: 0,
    authentication: await readAuthenticationConfig(client),
    authenticationClient: client,
    authorizationClient: client,
    namespaceClient: client,
    version,
  });
  const port = await reports.listen();
  for (const [group, groupVersion, serviceName] of groups)
    await registerAPIService(cp, { group, version: groupVersion, serviceName, port, caBundle: ca.certPem });
}
