import { isIPv4, isIPv6 } from 'node:net';

// The string formats the Kubernetes API server checks (kube-openapi's format registry) that appear in the
// CustomResourceDefinitions this project deals with. Formats the API server does not know are not checked.
const dateTime = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const date = /^\d{4}-\d{2}-\d{2}$/;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const uuid = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const hostname =
  /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/;

const checks: Record<string, (value: string) => boolean> = {
  'date-time': (value) => dateTime.test(value) && !Number.isNaN(Date.parse(value)),
  date: (value) => date.test(value) && !Number.isNaN(Date.parse(value)),
  byte: (value) => base64.test(value),
  ipv4: (value) => isIPv4(value),
  ipv6: (value) => isIPv6(value),
  uuid: (value) => uuid.test(value),
  hostname: (value) => value.length <= 253 && hostname.test(value),
  uri: (value) => URL.canParse(value),
};

/** Returns false when `value` violates a known `format`; unknown formats always pass. */
export function matchesFormat(format: string, value: string): boolean {
  const check = checks[format];
  return check === undefined || check(value);
}
