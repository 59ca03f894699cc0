/**
 * The official FHIR STU3 XML schema as an independent check of what we build: every message is written
 * to a temporary folder and validated in one JVM run (scripts/fhir/Stu3SchemaCheck.java, the JDK's own
 * XSD validator) against fhir-single.xsd from the pinned HAPI FHIR dstu3 validation-resources jar that
 * scripts/setup.sh installed into .tools/fhir. Nothing is downloaded here: a missing jar fails the test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const TOOLS = path.join(ROOT, '.tools', 'fhir');
const CHECKER = path.join(ROOT, 'scripts', 'fhir', 'Stu3SchemaCheck.java');

export function stu3SchemaJar(): string {
  const jar = existsSync(TOOLS) ? readdirSync(TOOLS).find((f) => /^hapi-fhir-validation-resources-dstu3-.*\.jar$/.test(f)) : undefined;
  if (!jar) throw new Error('the FHIR STU3 schema is not installed: run `bash scripts/setup.sh` (it fetches it into .tools/fhir)');
  return path.join(TOOLS, jar);
}

/** Schema verdict per document, in input order: undefined when valid, else the validator's first error. */
export function validateStu3Xml(documents: readonly string[]): Array<string | undefined> {
  const dir = mkdtempSync(path.join(tmpdir(), 'stu3-schema-'));
  try {
    const files = documents.map((xml, i) => {
      const f = path.join(dir, `${String(i).padStart(5, '0')}.xml`);
      writeFileSync(f, xml, 'utf8');
      return f;
    });
    // One short-lived JVM: the client compiler and serial GC start fastest, which is all this run needs.
    const out = execFileSync('java', ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', CHECKER, stu3SchemaJar(), ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    const verdicts = new Map<string, string | undefined>();
    for (const line of out.split('\n').filter(Boolean)) {
      const m = /^(OK|INVALID) (\S+)(?: (.*))?$/.exec(line);
      if (m) verdicts.set(m[2]!, m[1] === 'OK' ? undefined : (m[3] ?? 'invalid'));
    }
    return files.map((f) => (verdicts.has(f) ? verdicts.get(f) : 'no verdict from the schema validator'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
