import { XMLParser } from 'fast-xml-parser';
import { FHIR_NS, XHTML_NS } from './constants';
import { responseInvalid } from './errors';

/**
 * Safe FHIR STU3 XML reading and writing.
 *
 * Reading uses fast-xml-parser for tokenising, behind our own guards, because on its own it is lenient
 * (it accepts `<a><b></a>` and plain text) and expands DTD-declared entities:
 * - a size limit before anything else;
 * - any `<!DOCTYPE` / `<!ENTITY` is refused: FHIR XML never uses a DTD, so there is no external entity
 *   resolution and no entity expansion (no billion laughs);
 * - a linear pre-scan checks that tags nest and close, there is one root element and nesting depth stays
 *   bounded (the tree is converted recursively, so depth must be bounded before that);
 * - only the five predefined entities and numeric character references are decoded (by us, not the parser).
 * Every failure is an `ITK3_RESPONSE_INVALID` error naming the reason, never a crash.
 */

/** One XML element of a FHIR document (also the normalised form of FHIR JSON, see `fromFhirJson`). */
export interface FNode {
  name: string;
  attrs: Record<string, string>;
  children: FNode[];
  /** For XHTML narrative (`div`): the complete serialised element, kept verbatim. */
  xhtml?: string;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 8 * 1024 * 1024, maxDepth: 64, maxElements: 500_000 };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: false,
  stopNodes: ['*.div'],
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Decode bytes as strict UTF-8 (a BOM is dropped). */
export function decodeUtf8(body: string | Uint8Array, maxBytes: number): string {
  if (typeof body === 'string') {
    // A JS string of n UTF-16 units is at least n bytes once encoded: a cheap upper guard first.
    if (body.length > maxBytes || utf8ByteLength(body) > maxBytes) {
      throw responseInvalid('document exceeds the size limit', [{ message: `larger than ${maxBytes} bytes` }]);
    }
    return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  }
  if (body.byteLength > maxBytes) {
    throw responseInvalid('document exceeds the size limit', [{ message: `larger than ${maxBytes} bytes` }]);
  }
  try {
    const text = utf8Decoder.decode(body);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    throw responseInvalid('document is not valid UTF-8');
  }
}

/** UTF-8 byte length of a string without allocating the encoded bytes. */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

const NAME_END = /[\s/>]/;

/**
 * Linear well-formedness pre-scan: balanced tags, one root, bounded depth and element count, no DTD.
 * Attribute values may contain `>`; quotes are honoured.
 */
/** Attribute values longer than this (base64 attachments) are cut out before tokenising and restored after. */
const BLOB_MIN = 4096;
const BLOB_MARK = '\uE000';
const BLOB_TOKEN = /^\uE000(\d+)\uE001$/;

function prescan(xml: string, limits: XmlLimits): [number, number][] {
  const blobs: [number, number][] = [];
  const stack: string[] = [];
  let roots = 0;
  let elements = 0;
  let i = 0;
  const n = xml.length;
  for (;;) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) {
      if (stack.length === 0 && xml.slice(i).trim() !== '') throw responseInvalid('text after the root element');
      break;
    }
    if (stack.length === 0 && xml.slice(i, lt).trim() !== '') {
      throw responseInvalid('not XML: text outside the root element');
    }
    const next = xml.charCodeAt(lt + 1);
    if (next === 0x21 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const end = xml.indexOf('-->', lt + 4);
        if (end < 0) throw responseInvalid('not well-formed XML: unclosed comment');
        i = end + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', lt)) {
        if (stack.length === 0) throw responseInvalid('not well-formed XML: CDATA outside the root element');
        const end = xml.indexOf(']]>', lt + 9);
        if (end < 0) throw responseInvalid('not well-formed XML: unclosed CDATA section');
        i = end + 3;
        continue;
      }
      // <!DOCTYPE, <!ENTITY, <!ELEMENT ...: FHIR XML has no DTD; refusing it rules out XXE and entity bombs.
      throw responseInvalid('XML with a DTD (DOCTYPE or ENTITY declaration) is refused', [
        { message: 'DTDs are not allowed in FHIR XML; entities are never expanded' },
      ]);
    }
    if (next === 0x3f /* ? */) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) throw responseInvalid('not well-formed XML: unclosed processing instruction');
      i = end + 2;
      continue;
    }
    if (next === 0x2f /* / */) {
      const end = xml.indexOf('>', lt + 2);
      if (end < 0) throw responseInvalid('not well-formed XML: unclosed end tag');
      const name = xml.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (open === undefined || open !== name) {
        throw responseInvalid('not well-formed XML: mismatched end tag', [
          { path: name.slice(0, 64), message: 'end tag does not match the open element' },
        ]);
      }
      i = end + 1;
      continue;
    }
    // Start tag: find its '>' outside quoted attribute values.
    let j = lt + 1;
    let end = -1;
    while (j < n) {
      const c = xml.charCodeAt(j);
      if (c === 0x22 || c === 0x27) {
        const close = xml.indexOf(c === 0x22 ? '"' : "'", j + 1);
        if (close < 0) break;
        if (close - j > BLOB_MIN) blobs.push([j + 1, close]);
        j = close + 1;
        continue;
      }
      if (c === 0x3c /* < */) break;
      if (c === 0x3e /* > */) {
        end = j;
        break;
      }
      j++;
    }
    if (end < 0) throw responseInvalid('not well-formed XML: unclosed start tag');
    const m = NAME_END.exec(xml.slice(lt + 1, Math.min(end + 1, lt + 200)));
    const name = m ? xml.slice(lt + 1, lt + 1 + m.index) : '';
    if (!/^[A-Za-z_][\w.:-]*$/.test(name)) throw responseInvalid('not well-formed XML: invalid element name');
    if (++elements > limits.maxElements)
      throw responseInvalid('document has too many elements', [{ message: `more than ${limits.maxElements}` }]);
    const selfClosing = xml.charCodeAt(end - 1) === 0x2f;
    if (stack.length === 0) {
      if (++roots > 1) throw responseInvalid('not well-formed XML: more than one root element');
    }
    if (!selfClosing) {
      stack.push(name);
      if (stack.length > limits.maxDepth) {
        throw responseInvalid('document is nested too deeply', [{ message: `deeper than ${limits.maxDepth} levels` }]);
      }
    }
    i = end + 1;
  }
  if (stack.length > 0)
    throw responseInvalid('not well-formed XML: unclosed element', [
      { path: stack[stack.length - 1]?.slice(0, 64), message: 'element is never closed' },
    ]);
  if (roots === 0) throw responseInvalid('not XML: no root element');
  return blobs;
}

const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));|&/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  if (value.indexOf('&') < 0) return value;
  return value.replace(ENTITY, (whole, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (named) return NAMED[named] ?? whole;
    const cp = dec !== undefined ? Number.parseInt(dec, 10) : hex !== undefined ? Number.parseInt(hex, 16) : -1;
    if (cp < 0) throw responseInvalid('not well-formed XML: undeclared entity reference');
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw responseInvalid('not well-formed XML: invalid character reference');
    return String.fromCodePoint(cp);
  });
}

type FxpNode = Record<string, unknown>;

function convert(raw: FxpNode[], out: FNode[], blobs: string[]): void {
  for (const item of raw) {
    let name: string | undefined;
    for (const k of Object.keys(item)) {
      if (k !== ':@') {
        name = k;
        break;
      }
    }
    if (name === undefined || name === '#text') continue; // whitespace / mixed text: FHIR XML carries values in attributes
    const attrsRaw = (item[':@'] ?? {}) as Record<string, string>;
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrsRaw)) {
      const str = String(v);
      const blob = blobs.length && str.charCodeAt(0) === 0xe000 ? BLOB_TOKEN.exec(str) : null;
      attrs[k] = decodeEntities(blob ? (blobs[Number(blob[1])] ?? '') : str);
    }
    const node: FNode = { name, attrs, children: [] };
    const kids = item[name] as FxpNode[];
    if (localName(name) === 'div') {
      // stop node: inner XHTML kept raw (already well-formed per the pre-scan).
      const inner = kids.map((k) => (typeof k['#text'] === 'string' ? (k['#text'] as string) : '')).join('');
      node.xhtml = `<div xmlns="${attrs.xmlns ?? XHTML_NS}">${inner}</div>`;
    } else {
      convert(kids, node.children, blobs);
    }
    out.push(node);
  }
}

export function localName(name: string): string {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(c + 1);
}

/** Strip the FHIR namespace prefix (`f:Bundle` with `xmlns:f="http://hl7.org/fhir"`) throughout. */
function stripPrefix(node: FNode, prefix: string): void {
  if (node.name.startsWith(prefix + ':')) node.name = node.name.slice(prefix.length + 1);
  for (const c of node.children) stripPrefix(c, prefix);
}

const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Parse FHIR XML safely into an element tree. The root must be in the FHIR namespace
 * (`http://hl7.org/fhir`, default or prefixed). Throws `ITK3_RESPONSE_INVALID` on anything else.
 */
export function parseFhirXml(body: string | Uint8Array, limits: Partial<XmlLimits> = {}): FNode {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  const xml = decodeUtf8(body, lim.maxBytes);
  // XML 1.0 §2.2 Char: U+FFFE, U+FFFF, lone surrogates and C0 controls other than TAB, LF and CR make a
  // document not well formed, whatever the tokeniser below would make of them.
  if (NOT_XML_CHAR.test(xml)) throw responseInvalid('not well-formed XML: a character XML cannot carry');
  const ranges = prescan(xml, lim);
  // Large attribute values (base64 attachments) are lifted out before tokenising: the tokeniser's
  // attribute regex is slow on megabyte values, and they need no parsing. Skipped if the marker occurs.
  const blobs: string[] = [];
  let text = xml;
  if (ranges.length && xml.indexOf(BLOB_MARK) < 0) {
    const parts: string[] = [];
    let at = 0;
    for (const [start, end] of ranges) {
      parts.push(xml.slice(at, start), `${BLOB_MARK}${blobs.length}\uE001`);
      blobs.push(xml.slice(start, end));
      at = end;
    }
    parts.push(xml.slice(at));
    text = parts.join('');
  }
  let raw: FxpNode[];
  try {
    raw = parser.parse(text) as FxpNode[];
  } catch {
    throw responseInvalid('not well-formed XML');
  }
  const roots: FNode[] = [];
  convert(raw, roots, blobs);
  const root = roots[0];
  if (!root || roots.length !== 1) throw responseInvalid('not XML: expected exactly one root element');
  const colon = root.name.indexOf(':');
  if (colon >= 0) {
    const prefix = root.name.slice(0, colon);
    if (root.attrs[`xmlns:${prefix}`] !== FHIR_NS)
      throw responseInvalid('root element is not in the FHIR namespace', [{ message: `expected ${FHIR_NS}` }]);
    stripPrefix(root, prefix);
  } else if (root.attrs.xmlns !== FHIR_NS) {
    throw responseInvalid('root element is not in the FHIR namespace', [{ message: `expected xmlns="${FHIR_NS}"` }]);
  }
  return root;
}

// ---------------------------------------------------------------------------------------------------
// Tree access helpers (shared by XML and JSON input)

export function child(node: FNode | undefined, name: string): FNode | undefined {
  if (!node) return undefined;
  for (const c of node.children) if (c.name === name) return c;
  return undefined;
}

export function childrenNamed(node: FNode | undefined, name: string): FNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** `value` attribute of a child path, e.g. `val(header, 'event', 'code')`. */
export function val(node: FNode | undefined, ...path: string[]): string | undefined {
  let cur = node;
  for (const p of path) cur = child(cur, p);
  return cur?.attrs.value;
}

/** The resource inside `entry/resource` (or `contained`), or undefined. */
export function resourceOf(entry: FNode): FNode | undefined {
  return child(entry, 'resource')?.children[0];
}

export function extensionByUrl(node: FNode | undefined, url: string): FNode | undefined {
  return childrenNamed(node, 'extension').find((e) => e.attrs.url === url);
}

// ---------------------------------------------------------------------------------------------------
// Writing

const ATTR_ESCAPE = /[&<>"\n\r\t]/g;
const ATTR_MAP: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};

export function escapeAttr(s: string): string {
  return s.replace(ATTR_ESCAPE, (c) => ATTR_MAP[c] ?? c);
}

export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => ATTR_MAP[c] ?? c);
}

/** Serialise an element tree as XML (no declaration, no indentation: the smallest faithful form). */
export function writeXml(node: FNode, parts: string[] = [], rootNs = true): string[] {
  if (node.xhtml !== undefined) {
    parts.push(node.xhtml);
    return parts;
  }
  parts.push('<', node.name);
  if (rootNs) parts.push(` xmlns="${FHIR_NS}"`);
  for (const [k, v] of Object.entries(node.attrs)) {
    // The FHIR default namespace is declared once on the root; nested copies are redundant.
    if (k === 'xmlns' && (rootNs || v === FHIR_NS)) continue;
    parts.push(' ', k, '="', escapeAttr(v), '"');
  }
  if (node.children.length === 0) {
    parts.push('/>');
    return parts;
  }
  parts.push('>');
  for (const c of node.children) writeXml(c, parts, false);
  parts.push('</', node.name, '>');
  return parts;
}

export function toXmlString(root: FNode): string {
  return '<?xml version="1.0" encoding="UTF-8"?>' + writeXml(root).join('');
}
