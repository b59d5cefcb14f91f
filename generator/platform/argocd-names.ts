// Names of the Argo CD objects an environment emits. The renderers name their Applications and AppProjects with
// these functions, and normalize derives the model names and namespaces it must refuse from the same functions,
// so a reserved name can never drift from what is written.

export function rootApplicationName(environment: string): string {
  return `${environment}-root`;
}

export function modelApplicationName(environment: string, model: string): string {
  return `${environment}-${model}`;
}

export function platformApplicationName(environment: string, component: string): string {
  return `${environment}-platform-${component}`;
}

export function modelsProjectName(environment: string): string {
  return `${environment}-models`;
}

export function platformProjectName(environment: string): string {
  return `${environment}-platform`;
}

export function argocdConfigProjectName(environment: string): string {
  return `${environment}-argocd-config`;
}
