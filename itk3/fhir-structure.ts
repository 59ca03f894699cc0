import { buildRejected } from './errors';
import type { FNode } from './fhir-xml';
import type { Json, JsonObject } from './fhir-json';

/**
 * Just enough of the FHIR STU3 structure definitions for the resources a Send Document carries, to
 * (a) put JSON-derived elements into XML schema order and (b) turn XML into FHIR JSON (which needs each
 * element's cardinality and primitive type). We chose these tables over a general FHIR library because
 * the maintained JS libraries ship R4 definitions only (STU3 would have to be loaded separately) and
 * the set of resources here is small and fixed (see itk3/README.md). Unknown resource types are kept in
 * their given order for XML and refused for XML->JSON, rather than guessed.
 */
interface Spec {
  order: string[];
  arrays?: string[];
  types?: Record<string, string>;
  backbones?: Record<string, Spec>;
}

const RESOURCE_HEAD = ['id', 'meta', 'implicitRules', 'language'];
const DOMAIN_HEAD = [...RESOURCE_HEAD, 'text', 'contained', 'extension', 'modifierExtension'];
const ELEMENT_HEAD = ['extension', 'modifierExtension'];

const DATATYPES: Record<string, Spec> = {
  Meta: {
    order: ['versionId', 'lastUpdated', 'profile', 'security', 'tag'],
    arrays: ['profile', 'security', 'tag'],
    types: { security: 'Coding', tag: 'Coding' },
  },
  Identifier: {
    order: ['use', 'type', 'system', 'value', 'period', 'assigner'],
    types: { type: 'CodeableConcept', period: 'Period', assigner: 'Reference' },
  },
  HumanName: {
    order: ['use', 'text', 'family', 'given', 'prefix', 'suffix', 'period'],
    arrays: ['given', 'prefix', 'suffix'],
    types: { period: 'Period' },
  },
  ContactPoint: { order: ['system', 'value', 'use', 'rank', 'period'], types: { period: 'Period' } },
  Address: {
    order: ['use', 'type', 'text', 'line', 'city', 'district', 'state', 'postalCode', 'country', 'period'],
    arrays: ['line'],
    types: { period: 'Period' },
  },
  Coding: { order: ['system', 'version', 'code', 'display', 'userSelected'] },
  CodeableConcept: { order: ['coding', 'text'], arrays: ['coding'], types: { coding: 'Coding' } },
  Reference: { order: ['reference', 'identifier', 'display'], types: { identifier: 'Identifier' } },
  Period: { order: ['start', 'end'] },
  Narrative: { order: ['status', 'div'] },
  Quantity: { order: ['value', 'comparator', 'unit', 'system', 'code'] },
  Attachment: { order: ['contentType', 'language', 'data', 'url', 'size', 'hash', 'title', 'creation'] },
  Extension: { order: [] }, // url is an attribute; value[x] follows nested extensions
};

const REF = 'Reference';
const CC = 'CodeableConcept';

export const RESOURCES: Record<string, Spec> = {
  Bundle: {
    order: [...RESOURCE_HEAD, 'identifier', 'type', 'total', 'link', 'entry', 'signature'],
    arrays: ['link', 'entry'],
    types: { identifier: 'Identifier' },
    backbones: {
      link: { order: ['relation', 'url'] },
      entry: { order: ['link', 'fullUrl', 'resource', 'search', 'request', 'response'], arrays: ['link'] },
    },
  },
  Binary: { order: [...RESOURCE_HEAD, 'contentType', 'securityContext', 'content'], types: { securityContext: REF } },
  Composition: {
    order: [
      ...DOMAIN_HEAD,
      'identifier',
      'status',
      'type',
      'class',
      'subject',
      'encounter',
      'date',
      'author',
      'title',
      'confidentiality',
      'attester',
      'custodian',
      'relatesTo',
      'event',
      'section',
    ],
    arrays: ['author', 'attester', 'relatesTo', 'event', 'section'],
    types: { identifier: 'Identifier', type: CC, class: CC, subject: REF, encounter: REF, author: REF, custodian: REF },
    backbones: {
      attester: { order: ['mode', 'time', 'party'], arrays: ['mode'], types: { party: REF } },
      relatesTo: {
        order: ['code', 'targetIdentifier', 'targetReference'],
        types: { targetIdentifier: 'Identifier', targetReference: REF },
      },
      event: {
        order: ['code', 'period', 'detail'],
        arrays: ['code', 'detail'],
        types: { code: CC, period: 'Period', detail: REF },
      },
      section: {
        order: ['title', 'code', 'text', 'mode', 'orderedBy', 'entry', 'emptyReason', 'section'],
        arrays: ['entry', 'section'],
        types: { code: CC, text: 'Narrative', orderedBy: CC, entry: REF, emptyReason: CC },
      },
    },
  },
  Patient: {
    order: [
      ...DOMAIN_HEAD,
      'identifier',
      'active',
      'name',
      'telecom',
      'gender',
      'birthDate',
      'deceasedBoolean',
      'deceasedDateTime',
      'address',
      'maritalStatus',
      'multipleBirthBoolean',
      'multipleBirthInteger',
      'photo',
      'contact',
      'animal',
      'communication',
      'generalPractitioner',
      'managingOrganization',
      'link',
    ],
    arrays: [
      'identifier',
      'name',
      'telecom',
      'address',
      'photo',
      'contact',
      'communication',
      'generalPractitioner',
      'link',
    ],
    types: {
      identifier: 'Identifier',
      name: 'HumanName',
      telecom: 'ContactPoint',
      address: 'Address',
      maritalStatus: CC,
      photo: 'Attachment',
      generalPractitioner: REF,
      managingOrganization: REF,
    },
    backbones: {
      contact: {
        order: ['relationship', 'name', 'telecom', 'address', 'gender', 'organization', 'period'],
        arrays: ['relationship', 'telecom'],
        types: {
          relationship: CC,
          name: 'HumanName',
          telecom: 'ContactPoint',
          address: 'Address',
          organization: REF,
          period: 'Period',
        },
      },
      communication: { order: ['language', 'preferred'], types: { language: CC } },
      link: { order: ['other', 'type'], types: { other: REF } },
    },
  },
  Practitioner: {
    order: [
      ...DOMAIN_HEAD,
      'identifier',
      'active',
      'name',
      'telecom',
      'address',
      'gender',
      'birthDate',
      'photo',
      'qualification',
      'communication',
    ],
    arrays: ['identifier', 'name', 'telecom', 'address', 'photo', 'qualification', 'communication'],
    types: {
      identifier: 'Identifier',
      name: 'HumanName',
      telecom: 'ContactPoint',
      address: 'Address',
      photo: 'Attachment',
      communication: CC,
    },
    backbones: {
      qualification: {
        order: ['identifier', 'code', 'period', 'issuer'],
        arrays: ['identifier'],
        types: { identifier: 'Identifier', code: CC, period: 'Period', issuer: REF },
      },
    },
  },
  Organization: {
    order: [
      ...DOMAIN_HEAD,
      'identifier',
      'active',
      'type',
      'name',
      'alias',
      'telecom',
      'address',
      'partOf',
      'contact',
      'endpoint',
    ],
    arrays: ['identifier', 'type', 'alias', 'telecom', 'address', 'contact', 'endpoint'],
    types: {
      identifier: 'Identifier',
      type: CC,
      telecom: 'ContactPoint',
      address: 'Address',
      partOf: REF,
      endpoint: REF,
    },
    backbones: {
      contact: {
        order: ['purpose', 'name', 'telecom', 'address'],
        arrays: ['telecom'],
        types: { purpose: CC, name: 'HumanName', telecom: 'ContactPoint', address: 'Address' },
      },
    },
  },
  Observation: {
    order: [
      ...DOMAIN_HEAD,
      'identifier',
      'basedOn',
      'status',
      'category',
      'code',
      'subject',
      'context',
      'effectiveDateTime',
      'effectivePeriod',
      'issued',
      'performer',
      'valueQuantity',
      'valueCodeableConcept',
      'valueString',
      'valueBoolean',
      'valueRange',
      'valueRatio',
      'valueSampledData',
      'valueAttachment',
      'valueTime',
      'valueDateTime',
      'valuePeriod',
      'dataAbsentReason',
      'interpretation',
      'comment',
      'bodySite',
      'method',
      'specimen',
      'device',
      'referenceRange',
      'related',
      'component',
    ],
    arrays: ['identifier', 'basedOn', 'category', 'performer', 'referenceRange', 'related', 'component'],
    types: {
      identifier: 'Identifier',
      basedOn: REF,
      category: CC,
      code: CC,
      subject: REF,
      context: REF,
      effectivePeriod: 'Period',
      performer: REF,
      valueQuantity: 'Quantity',
      valueCodeableConcept: CC,
      valuePeriod: 'Period',
      valueAttachment: 'Attachment',
      dataAbsentReason: CC,
      interpretation: CC,
      bodySite: CC,
      method: CC,
      specimen: REF,
      device: REF,
    },
  },
  MessageHeader: {
    order: [
      ...DOMAIN_HEAD,
      'event',
      'destination',
      'receiver',
      'sender',
      'timestamp',
      'enterer',
      'author',
      'source',
      'responsible',
      'reason',
      'response',
      'focus',
    ],
    arrays: ['destination', 'focus'],
    types: {
      event: 'Coding',
      receiver: REF,
      sender: REF,
      enterer: REF,
      author: REF,
      responsible: REF,
      reason: CC,
      focus: REF,
    },
    backbones: {
      destination: { order: ['name', 'target', 'endpoint'], types: { target: REF } },
      source: { order: ['name', 'software', 'version', 'contact', 'endpoint'], types: { contact: 'ContactPoint' } },
      response: { order: ['identifier', 'code', 'details'], types: { details: REF } },
    },
  },
  OperationOutcome: {
    order: [...DOMAIN_HEAD, 'issue'],
    arrays: ['issue'],
    backbones: {
      issue: {
        order: ['severity', 'code', 'details', 'diagnostics', 'location', 'expression'],
        arrays: ['location', 'expression'],
        types: { details: CC },
      },
    },
  },
};

const BOOLEANS = new Set([
  'active',
  'deceasedBoolean',
  'multipleBirthBoolean',
  'valueBoolean',
  'userSelected',
  'preferred',
]);
const INTEGERS = new Set([
  'total',
  'rank',
  'multipleBirthInteger',
  'valueInteger',
  'valuePositiveInt',
  'valueUnsignedInt',
  'size',
]);
const DECIMALS = new Set(['valueDecimal']);

function childSpec(parent: Spec | undefined, name: string): Spec | undefined {
  if (name === 'extension' || name === 'modifierExtension') return DATATYPES.Extension;
  if (name === 'meta') return DATATYPES.Meta;
  const backbone = parent?.backbones?.[name];
  if (backbone) return backbone;
  const type =
    parent?.types?.[name] ?? (name === 'text' ? 'Narrative' : name.startsWith('value') ? name.slice(5) : undefined);
  return type ? DATATYPES[type] : undefined;
}

function elementOrder(spec: Spec, isResource: boolean): string[] {
  return isResource ? spec.order : [...ELEMENT_HEAD, ...spec.order];
}

/**
 * Put the children of a JSON-derived tree into XML schema order (JSON key order is free, XML element
 * order is not). Elements without a known spec keep their order; nested extensions come before value[x].
 */
export function reorderForXml(node: FNode, spec: Spec | undefined = RESOURCES[node.name], isResource = true): string[] {
  const unknown: string[] = [];
  if (isResource && !spec) unknown.push(node.name);
  if (spec) {
    const order = elementOrder(spec, isResource);
    const rank = (n: string) => {
      const i = order.indexOf(n);
      return i < 0 ? (n.startsWith('value') ? order.length + 1 : order.length) : i;
    };
    node.children = node.children
      .map((c, i) => ({ c, i }))
      .sort((a, b) => rank(a.c.name) - rank(b.c.name) || a.i - b.i)
      .map((x) => x.c);
  } else if (node.children.some((c) => c.name === 'extension')) {
    // Extension (or unknown element): nested extensions first, then the rest in given order.
    node.children = [
      ...node.children.filter((c) => c.name === 'extension'),
      ...node.children.filter((c) => c.name !== 'extension'),
    ];
  }
  for (const c of node.children) {
    if (c.name === 'resource' || c.name === 'contained') {
      const r = c.children[0];
      if (r) unknown.push(...reorderForXml(r, RESOURCES[r.name], true));
    } else if (c.xhtml === undefined) {
      unknown.push(...reorderForXml(c, childSpec(spec, c.name), false));
    }
  }
  return unknown;
}

/**
 * Element tree (from XML) to FHIR STU3 JSON. Throws `ITK3_BUILD_REJECTED` for resource types outside the
 * tables or for repeated elements that must be single.
 */
export function toFhirJson(node: FNode): JsonObject {
  const spec = RESOURCES[node.name];
  if (!spec)
    throw buildRejected('cannot write this resource type as JSON', [
      { path: node.name, message: 'resource type outside the STU3 tables of this library; ask for XML output' },
    ]);
  return { resourceType: node.name, ...convertChildren(node, spec, node.name) };
}

function convertChildren(node: FNode, spec: Spec | undefined, path: string): JsonObject {
  const out: JsonObject = {};
  const groups = new Map<string, FNode[]>();
  for (const c of node.children) {
    const g = groups.get(c.name);
    if (g) g.push(c);
    else groups.set(c.name, [c]);
  }
  for (const [name, nodes] of groups) {
    const isArray =
      name === 'extension' ||
      name === 'modifierExtension' ||
      (spec?.arrays?.includes(name) ?? false) ||
      (!spec && nodes.length > 1);
    if (!isArray && nodes.length > 1) {
      throw buildRejected('element repeats where FHIR allows one', [
        { path: `${path}.${name}`, message: 'cardinality 0..1 exceeded' },
      ]);
    }
    const cs = childSpec(spec, name);
    const values: Json[] = [];
    const primitiveExt: Json[] = [];
    let hasPrimitiveExt = false;
    for (const n of nodes) {
      if (name === 'resource' || name === 'contained') {
        const r = n.children[0];
        if (!r)
          throw buildRejected('empty resource element', [{ path: `${path}.${name}`, message: 'no resource inside' }]);
        values.push(toFhirJson(r));
      } else if (n.xhtml !== undefined) {
        values.push(n.xhtml);
      } else if (n.attrs.value !== undefined) {
        values.push(primitive(name, n.attrs.value, `${path}.${name}`));
        const ext = convertChildren(n, undefined, `${path}.${name}`);
        if (n.attrs.id) ext.id = n.attrs.id;
        if (Object.keys(ext).length) hasPrimitiveExt = true;
        primitiveExt.push(Object.keys(ext).length ? ext : null);
      } else {
        const obj: JsonObject = {};
        if (n.attrs.id !== undefined) obj.id = n.attrs.id;
        if (n.attrs.url !== undefined) obj.url = n.attrs.url;
        Object.assign(obj, convertChildren(n, cs, `${path}.${name}`));
        values.push(obj);
      }
    }
    out[name] = isArray ? values : (values[0] as Json);
    if (hasPrimitiveExt) out[`_${name}`] = isArray ? primitiveExt : (primitiveExt[0] as Json);
  }
  return out;
}

function primitive(name: string, value: string, path: string): Json {
  if (BOOLEANS.has(name)) {
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw buildRejected('boolean element is not true or false', [{ path, message: 'invalid boolean' }]);
  }
  if (INTEGERS.has(name) || DECIMALS.has(name)) {
    const n = Number(value);
    if (!Number.isFinite(n) || (INTEGERS.has(name) && !Number.isInteger(n)))
      throw buildRejected('numeric element is not a number', [{ path, message: 'invalid number' }]);
    return n;
  }
  return value;
}
