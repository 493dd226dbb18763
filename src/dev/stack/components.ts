// The local stack's parts, in start order. Kept apart from stack.ts so the CLI can list them without loading
// the whole orchestration (which it imports only when a `dev` command runs).
export type ComponentName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kwok'
  | 'temporal'
  | 'prometheus'
  | 'mesh-sim'
  | 'fake-slack'
  | 'webhook-service';

/** Start order; `down` uses the reverse. */
export const componentOrder: ComponentName[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'temporal',
  'prometheus',
  'mesh-sim',
  'fake-slack',
  'webhook-service',
];
