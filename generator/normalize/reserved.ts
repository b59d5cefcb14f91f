// Model names and namespaces an environment cannot give to a model, derived from what the environment emits: the
// names of its other Applications (the same functions the renderers call) and the namespaces its platform
// components install into, plus Argo CD's namespace and Kubernetes' own. A model Application may then never
// replace another Application, and the models AppProject never shares a namespace with the platform projects.
import {
  modelApplicationName,
  platformApplicationName,
  rootApplicationName,
} from '../platform/argocd-names.ts';
import type { PlatformComponent } from '../platform/components.ts';
import type { PlatformSettings } from '../platform/settings.ts';

/** Namespaces Kubernetes itself creates and owns. */
const kubernetesNamespaces = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

export interface ReservedNames {
  /** Why a model of this name cannot exist, or undefined when it can. */
  model(name: string): string | undefined;
  /** Why a model cannot deploy to this namespace, or undefined when it can. */
  namespace(namespace: string): string | undefined;
}

export function reservedNames(
  settings: PlatformSettings,
  installed: readonly PlatformComponent[],
): ReservedNames {
  const environment = settings.environment;
  const applications = new Map<string, string>([
    [rootApplicationName(environment), 'the root Application (app-of-apps)'],
  ]);
  for (const component of installed) {
    applications.set(
      platformApplicationName(environment, component.name),
      `the Application of platform component ${component.name}`,
    );
  }
  const namespaces = new Map<string, string>();
  const reserve = (namespace: string, why: string): void => {
    if (!namespaces.has(namespace)) namespaces.set(namespace, why);
  };
  reserve(settings.argocd.namespace, "Argo CD's namespace (argocd.namespace of the platform profile)");
  for (const namespace of kubernetesNamespaces) reserve(namespace, 'a namespace of Kubernetes itself');
  for (const component of installed) {
    for (const namespace of [component.namespace, ...(component.createsNamespaces ?? [])]) {
      reserve(namespace, `platform component ${component.name} installs into it`);
    }
  }
  return {
    model: (name) => {
      const application = modelApplicationName(environment, name);
      const owner = applications.get(application);
      return owner === undefined ? undefined : `its Application ${application} would replace ${owner}`;
    },
    namespace: (namespace) => namespaces.get(namespace),
  };
}
