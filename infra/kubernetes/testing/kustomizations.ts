import { fileURLToPath } from "node:url";

/** Every kustomization under infra/kubernetes that `kubectl apply -k` may be given. */
export const KUSTOMIZATIONS = [
  "base",
  "postgres",
  "gitlab-sync",
  "collector",
  "overlays/production",
  "overlays/production-gitlab",
] as const;

/** The absolute path of `path`, relative to infra/kubernetes. */
export function kubernetesPath(path: string): string {
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}
