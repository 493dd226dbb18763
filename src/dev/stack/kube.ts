// Kubernetes bits of the local stack: credentials, kubeconfig, the kwok node, CRDs.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

export interface KubeCredentials {
  token: string;
  tokenFile: string;
  saKey: string;
  saPub: string;
  certDir: string;
}

/** Admin token (system:masters) and the service-account signing key pair; created once, kept in the state dir. */
export function ensureCredentials(stateDir: string): KubeCredentials {
  const pki = join(stateDir, 'pki');
  const tokenFile = join(pki, 'tokens.csv');
  const saKey = join(pki, 'sa.key');
  const saPub = join(pki, 'sa.pub');
  if (!existsSync(tokenFile)) {
    const token = randomBytes(24).toString('hex');
    writeFileSync(tokenFile, `${token},fledge-admin,fledge-admin,"system:masters"\n`, { mode: 0o600 });
  }
  if (!existsSync(saKey)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  const token = readFileSync(tokenFile, 'utf8').split(',')[0] ?? '';
  return { token, tokenFile, saKey, saPub, certDir: join(pki, 'apiserver') };
}

/** Writes the admin kubeconfig. The apiserver's self-signed serving cert (cert-dir) is the trusted CA. */
export function writeKubeconfig(
  path: string,
  server: string,
  token: string,
  caFile: string | undefined,
): void {
  const cluster =
    caFile && existsSync(caFile)
      ? `    certificate-authority-data: ${readFileSync(caFile).toString('base64')}\n`
      : `    insecure-skip-tls-verify: true\n`;
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: fledge-local
  cluster:
    server: ${server}
${cluster}users:
- name: fledge-admin
  user:
    token: ${token}
contexts:
- name: fledge-local
  context:
    cluster: fledge-local
    user: fledge-admin
current-context: fledge-local
`,
    { mode: 0o600 },
  );
}

export function kubeConfigFrom(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export function isApiError(e: unknown, code: number): boolean {
  return e instanceof k8s.ApiException && e.code === code;
}

export const kwokNodeName = 'kwok-node-0';
/** Pods one kwok node takes (its `pods` capacity); more pods need more nodes (`ensureKwokNodes`). */
export const kwokPodsPerNode = 500;

/** One fake node managed by kwok (selected by annotation). Capacity is generous so nothing is unschedulable. */
export async function ensureKwokNode(kc: k8s.KubeConfig, name: string = kwokNodeName): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const node: k8s.V1Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '64', memory: '256Gi', pods: String(kwokPodsPerNode) },
      capacity: { cpu: '64', memory: '256Gi', pods: String(kwokPodsPerNode) },
      nodeInfo: {
        architecture: 'amd64',
        bootID: '',
        containerRuntimeVersion: 'kwok',
        kernelVersion: '',
        kubeProxyVersion: 'fake',
        kubeletVersion: 'fake',
        machineID: '',
        operatingSystem: 'linux',
        osImage: '',
        systemUUID: '',
      },
    },
  };
  try {
    await core.createNode({ body: node });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

/**
 * Enough kwok nodes for `pods` more pods than the rig runs at rest (a scale run: `npm run bench:scale`): nodes
 * `kwok-node-1`, `kwok-node-2`, … are added beside `kwok-node-0` (never removed; kwok keeps them Ready and the
 * scheduler spreads pods over them). Returns the names of all the kwok nodes it ensured.
 */
export async function ensureKwokNodes(kc: k8s.KubeConfig, pods: number): Promise<string[]> {
  const count = kwokNodesFor(pods);
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  for (const n of names) await ensureKwokNode(kc, n);
  return names;
}

/** Nodes for `pods` pods, with one node of headroom for what else runs on the rig (at least one). PURE. */
export function kwokNodesFor(pods: number): number {
  return Math.max(1, Math.ceil(Math.max(0, pods) / kwokPodsPerNode) + 1);
}

export function crdFiles(crdsDir: string): string[] {
  const files = [join(crdsDir, 'istio.yaml')];
  const gw = join(crdsDir, 'gateway-api');
  for (const f of readdirSync(gw).sort()) if (f.endsWith('.yaml')) files.push(join(gw, f));
  // Flagger's CRDs (Canary, MetricTemplate, AlertProvider) for cluster mode (`fledge cluster-mode`).
  const flagger = join(crdsDir, 'flagger.yaml');
  if (!existsSync(flagger))
    throw new Error(
      `${flagger} missing (a tools cache from before cluster mode): rerun scripts/install-tools.sh crds`,
    );
  files.push(flagger);
  return files;
}

/** Creates every CRD found in the files (existing ones are left alone) and waits until all are Established. */
export async function applyCrds(kc: k8s.KubeConfig, files: string[], timeoutMs = 60_000): Promise<string[]> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of files) {
    // loadAllYaml maps wire names (x-kubernetes-int-or-string, $ref, …) onto the typed model; a plain YAML
    // parse would have them dropped by the typed serializer.
    for (const doc of k8s.loadAllYaml(readFileSync(file, 'utf8')) as unknown[]) {
      const obj = doc as k8s.V1CustomResourceDefinition | null;
      if (!obj || obj.kind !== 'CustomResourceDefinition' || !obj.metadata?.name) continue;
      names.push(obj.metadata.name);
      try {
        await ext.createCustomResourceDefinition({ body: obj });
      } catch (e) {
        if (!isApiError(e, 409)) throw e;
      }
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return names;
}
