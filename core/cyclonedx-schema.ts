// CycloneDX JSON validation against the strict schemas the CycloneDX library ships, compiled the way
// the library compiles them (ajv, its formats, its options), with one difference: `uniqueItems`.
//
// ajv checks `uniqueItems` on arrays of objects by comparing every pair, and a CycloneDX document's
// `components` and `dependencies` are exactly such arrays: the library's validator spends ~400 ms on a
// 1,000-component SBOM and grows with the square of it. Here two items are equal when their canonical
// JSON (keys sorted) is, which is the same equality for JSON data, in one pass. test/sbom-validate
// checks that both validators give the same verdict on real and broken documents.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv, { type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import addFormats2019 from 'ajv-formats-draft2019';

export type SchemaVersion = '1.4' | '1.5' | '1.6' | '1.7';

// The schemas inside the installed (exactly pinned) library: the files its own validator reads.
const SCHEMA_DIR = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
const readJson = (file: string): AnySchema => JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as AnySchema;

/** A canonical serialisation: equal JSON values, and only those, give equal strings. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

interface UniqueItemsCheck {
  (enabled: boolean, data: unknown[]): boolean;
  errors?: Partial<ErrorObject>[];
}

const uniqueItems: UniqueItemsCheck = (enabled, data) => {
  if (!enabled) return true;
  const seen = new Map<string, number>();
  for (let j = 0; j < data.length; j++) {
    const key = canonical(data[j]);
    const i = seen.get(key);
    if (i !== undefined) {
      // ajv's own wording, so a refusal reads the same whichever validator made it.
      uniqueItems.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${i} and ${j} are identical)`, params: { i: j, j: i } }];
      return false;
    }
    seen.set(key, j);
  }
  return true;
};

let ajv: Ajv | undefined;
const compiled = new Map<SchemaVersion, ValidateFunction>();

function instance(): Ajv {
  if (ajv) return ajv;
  // The same options and referenced schemas as the library's own validator (_optPlug.node/__jsonValidators/ajv).
  ajv = new Ajv({
    useDefaults: false,
    strict: false,
    strictSchema: false,
    addUsedSchema: false,
    allErrors: false,
    schemas: {
      'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': readJson('spdx.SNAPSHOT.schema.json'),
      'http://cyclonedx.org/schema/cryptography-defs.SNAPSHOT.schema.json': readJson('cryptography-defs.SNAPSHOT.schema.json'),
      'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': readJson('jsf-0.82.SNAPSHOT.schema.json'),
    },
    loadSchema: (uri: string) => Promise.reject(new Error(`remote schemas are disabled: ${uri}`)),
  });
  addFormats(ajv);
  addFormats2019(ajv, { formats: ['idn-email'] });
  ajv.addFormat('iri-reference', true);
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems });
  return ajv;
}

/** The validator for one spec version, compiled once (~0.4 s) and kept. */
export function cyclonedxValidator(version: SchemaVersion): ValidateFunction {
  let validate = compiled.get(version);
  if (!validate) {
    // 1.4 and later have no separate -strict file: the plain schema is the strict one (as in the library's table).
    validate = instance().compile(readJson(`bom-${version}.SNAPSHOT.schema.json`));
    compiled.set(version, validate);
  }
  return validate;
}

/** null when `document` (parsed JSON) is valid CycloneDX `version`, else ajv's errors. */
export function validateCyclonedx(version: SchemaVersion, document: unknown): ErrorObject[] | null {
  const validate = cyclonedxValidator(version);
  return validate(document) ? null : (validate.errors ?? []);
}
