import type { FNode } from './fhir-xml';

/**
 * FHIR STU3 JSON <-> element tree. JSON input is normalised into the same tree the XML reader produces,
 * so every check and extractor works on both formats. Element order is the JSON key order; the builders
 * in this module write their objects in FHIR definition order so the XML they become is schema-ordered.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A FHIR JSON resource (object with `resourceType`) as an element tree rooted at the resource name. */
export function fromFhirJson(resource: JsonObject): FNode {
  const type = resource.resourceType;
  if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) {
    throw new TypeError('not a FHIR resource: resourceType missing');
  }
  return { name: type, attrs: {}, children: props(resource) };
}

function props(obj: JsonObject): FNode[] {
  const out: FNode[] = [];
  for (const key of Object.keys(obj)) {
    if (key === 'resourceType' || key.startsWith('_')) continue;
    const v = obj[key];
    if (v === null || v === undefined) continue;
    const items = Array.isArray(v) ? v : [v];
    const primExt = obj['_' + key];
    const extItems = Array.isArray(primExt) ? primExt : primExt === undefined ? [] : [primExt];
    items.forEach((item, idx) => {
      if (item === null || item === undefined) return;
      if (key === 'resource' || key === 'contained') {
        if (isObject(item)) out.push({ name: key, attrs: {}, children: [fromFhirJson(item)] });
        return;
      }
      if (key === 'div' && typeof item === 'string') {
        out.push({ name: 'div', attrs: {}, children: [], xhtml: item });
        return;
      }
      if (isObject(item)) {
        out.push(elementNode(key, item));
        return;
      }
      if (Array.isArray(item)) return; // nested arrays are not FHIR
      const node: FNode = { name: key, attrs: { value: String(item) }, children: [] };
      const ext = extItems[idx];
      if (isObject(ext)) {
        if (typeof ext.id === 'string') node.attrs.id = ext.id;
        node.children = props(ext);
      }
      out.push(node);
    });
  }
  return out;
}

function elementNode(key: string, o: JsonObject): FNode {
  const attrs: Record<string, string> = {};
  if (typeof o.id === 'string') attrs.id = o.id;
  const rest: JsonObject = {};
  for (const k of Object.keys(o)) {
    if (k === 'id') continue;
    if (k === 'url' && (key === 'extension' || key === 'modifierExtension') && typeof o.url === 'string') {
      attrs.url = o.url;
      continue;
    }
    rest[k] = o[k] as Json;
  }
  return { name: key, attrs, children: props(rest) };
}
