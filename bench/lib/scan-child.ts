// Child process of bench/scanner.ts, so that each measurement has its own peak memory:
//   scan-child.ts scan <kubeconfig> <out.json>   a full scan (every ruleset), report written to out.json
//   scan-child.ts list <kubeconfig> <kinds.json> a plain paginated LIST of each kind (pages of 500, in turn)
// Prints one JSON line: {seconds, maxRssBytes, kinds?, objects?}.
import { readFileSync, writeFileSync } from 'node:fs';
import { KubeClient, type ListOptions } from '../../src/kube/client.ts';
import { loadKubeConfig } from '../../src/kube/config.ts';
import type { KubeList, KubeObject, ResourceType } from '../../src/kube/resources.ts';
import { catalog } from '../../src/scanner/catalog.ts';
import { scan } from '../../src/scanner/scanner.ts';

const [mode, kubeconfig, file] = process.argv.slice(2);
if (!mode || !kubeconfig || !file) throw new Error('usage: scan-child.ts scan|list <kubeconfig> <file>');

const started = performance.now();
if (mode === 'scan') {
  const kinds = new Map<string, ResourceType>();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the client as `this` below
  const original = KubeClient.prototype.list;
  // Records which kinds the scan reads, so the plain LIST reads exactly those.
  KubeClient.prototype.list = function <T extends KubeObject>(
    this: KubeClient,
    rt: ResourceType,
    options?: ListOptions,
  ): Promise<KubeList<T>> {
    kinds.set(`${rt.group}/${rt.resource}`, rt);
    return original.call(this, rt, options) as Promise<KubeList<T>>;
  };
  const report = await scan({
    config: {
      providers: [{ id: 'managedk8s', rulesets: catalog.rulesets.map((r) => ({ id: r.id })) }],
    },
    kubeconfig,
  });
  const seconds = (performance.now() - started) / 1000;
  writeFileSync(file, JSON.stringify(report));
  print({ seconds, kinds: [...kinds.values()] });
} else {
  const kinds = JSON.parse(readFileSync(file, 'utf8')) as ResourceType[];
  const client = new KubeClient(loadKubeConfig({ kubeconfig }));
  let objects = 0;
  for (const rt of kinds) {
    let token: string | undefined;
    do {
      const page = await client.list(rt, { limit: 500, continue: token });
      objects += page.items.length;
      token = page.metadata.continue || undefined;
    } while (token);
  }
  await client.close();
  print({ seconds: (performance.now() - started) / 1000, objects });
}

function print(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}
