// google.protobuf.Struct helpers for ext_proc metadata: reading the subset hint and the served endpoint from
// `metadata_context`, and building the `envoy.lb` dynamic metadata.
import type { Metadata, ProtoStruct, ProtoValue } from './messages.ts';

function fieldOf(
  metadata: Metadata | null | undefined,
  namespace: string,
  key: string,
): ProtoValue | undefined {
  return metadata?.filterMetadata?.[namespace]?.fields?.[key];
}

/**
 * A list of strings at filter_metadata[namespace][key]. Undefined when the key is absent; a string value
 * counts as a comma-separated list, as the gateway may send either form.
 */
export function stringListAt(
  metadata: Metadata | null | undefined,
  namespace: string,
  key: string,
): string[] | undefined {
  const value = fieldOf(metadata, namespace, key);
  if (value === undefined) {
    return undefined;
  }
  if (value.listValue != null) {
    const items: string[] = [];
    for (const item of value.listValue.values ?? []) {
      if (item.stringValue != null && item.stringValue !== '') {
        items.push(item.stringValue.trim());
      }
    }
    return items;
  }
  if (value.stringValue != null) {
    return splitEndpointList(value.stringValue);
  }
  return undefined;
}

export function stringAt(
  metadata: Metadata | null | undefined,
  namespace: string,
  key: string,
): string | undefined {
  const value = fieldOf(metadata, namespace, key);
  return value?.stringValue != null && value.stringValue !== '' ? value.stringValue : undefined;
}

export function splitEndpointList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** {namespace: {key: value, ...}} as a Struct of Structs of strings. */
export function namespacedStrings(namespace: string, entries: Readonly<Record<string, string>>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [key, value] of Object.entries(entries)) {
    fields[key] = { stringValue: value };
  }
  return { fields: { [namespace]: { structValue: { fields } } } };
}
