// The API server's rules for object names: most kinds need a DNS-1123 subdomain, Services (and Namespaces) a
// DNS label, RBAC objects only a valid path segment. A bad name is rejected at sync time.
import type { FieldError } from './openapi-schema.ts';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function nameProblem(group: string, kind: string, name: string): string | undefined {
  if (group === '' && kind === 'Service') {
    return name.length <= 63 && dns1035Label.test(name)
      ? undefined
      : 'a Service name must be a DNS-1035 label (lowercase letters, digits and "-", starting with a letter, at most 63 characters)';
  }
  if (group === '' && kind === 'Namespace') {
    return name.length <= 63 && dns1123Label.test(name)
      ? undefined
      : 'a Namespace name must be a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)';
  }
  if (group === 'rbac.authorization.k8s.io') {
    return name === '.' || name === '..' || /[/%]/.test(name)
      ? 'an RBAC object name must be a valid path segment'
      : undefined;
  }
  return name.length <= 253 && dns1123Subdomain.test(name)
    ? undefined
    : 'the name must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)';
}

/** Checks metadata.name (unless generateName is used) and metadata.namespace of an object. */
export function objectNameErrors(
  apiVersion: string,
  kind: string,
  metadata: Record<string, unknown>,
): FieldError[] {
  const errors: FieldError[] = [];
  const group = apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
  const { name, namespace, generateName } = metadata;
  if (typeof name === 'string') {
    const problem = nameProblem(group, kind, name);
    if (problem !== undefined) {
      errors.push({ path: 'metadata.name', message: `${JSON.stringify(name)}: ${problem}` });
    }
  } else if (typeof generateName !== 'string') {
    errors.push({ path: 'metadata.name', message: 'required field is missing (or metadata.generateName)' });
  }
  if (typeof namespace === 'string' && !(namespace.length <= 63 && dns1123Label.test(namespace))) {
    errors.push({
      path: 'metadata.namespace',
      message: `${JSON.stringify(namespace)}: a namespace must be a DNS-1123 label`,
    });
  }
  return errors;
}
