// helm against a testbed control plane, with its configuration, cache and data in a directory of the caller
// (removed by close()), so tests never read or write the user's helm setup.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlane } from './controlplane.ts';
import { runCommand, type CommandResult } from './process.ts';

export interface Helm {
  run(...args: string[]): Promise<CommandResult>;
  close(): void;
}

export function helmFor(cp: ControlPlane, binary: string): Helm {
  const home = mkdtempSync(join(tmpdir(), 'argus-helm-'));
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return {
    run: (...args) => runCommand(binary, [...args, '--kubeconfig', cp.kubeconfigPath], { env }),
    close: () => rmSync(home, { recursive: true, force: true }),
  };
}
