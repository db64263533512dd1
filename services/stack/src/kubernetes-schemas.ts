import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Kubernetes JSON schemas in the layout kubeconform reads (`<kind>-<group>-<version>.json`,
 * refs into `_definitions.json`), derived from the OpenAPI (swagger 2) document that ships in
 * the k8s.io/kubernetes Go module: kubeconform's own schema repository is not on the Go proxy,
 * so the schemas are made here, offline, the way its openapi2jsonschema makes them, strict
 * (an object with declared properties allows no other). Written to a temporary directory and
 * renamed, so an interrupted run never leaves half a schema set that the next would trust.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Types whose JSON is not what their swagger `type` says (the API server accepts both forms). */
const SPECIAL: Record<string, JsonObject> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

/** One schema node, refs pointed at `_definitions.json`, strict, int-or-string as either. */
function convert(node: Json, refPrefix: string): Json {
  if (Array.isArray(node)) return node.map((n) => convert(n, refPrefix));
  if (!isObject(node)) return node;
  if (node.format === 'int-or-string') return { ...SPECIAL['io.k8s.apimachinery.pkg.util.intstr.IntOrString']! };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v.replace(/^#\/definitions\//, `${refPrefix}#/definitions/`);
    // Property maps and definitions are keyed by name: their keys are not schema keywords.
    else if (k === 'properties' && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, convert(s, refPrefix)]));
    else out[k] = convert(v, refPrefix);
  }
  if (isObject(out.properties) && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

/** kubeconform's file name for a kind: its template `{{ .ResourceKind }}{{ .KindSuffix }}.json`. */
export function kubeconformSchemaFile(kind: string, group: string, version: string): string {
  const groupPart = group === '' ? '' : `-${group.split('.')[0]!.toLowerCase()}`;
  return `${kind.toLowerCase()}${groupPart}-${version.toLowerCase()}.json`;
}

/** The `-schema-location` template that finds the files writeKubeconformSchemas wrote in `dir`. */
export const kubeconformSchemaLocation = (dir: string): string => `${dir}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;

/** Writes the schema set of one swagger.json into `dir` (replacing it); returns the number of kinds. */
export function writeKubeconformSchemas(swaggerFile: string, dir: string): number {
  const swagger = JSON.parse(readFileSync(swaggerFile, 'utf8')) as Json;
  const definitions = isObject(swagger) ? swagger.definitions : undefined;
  if (!isObject(definitions)) throw new Error(`${swaggerFile} has no definitions object: not a Kubernetes OpenAPI v2 document`);
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const defs: JsonObject = {};
  for (const [name, schema] of Object.entries(definitions)) defs[name] = SPECIAL[name] ?? convert(schema, '');
  writeFileSync(join(partial, '_definitions.json'), JSON.stringify({ definitions: defs }));
  let kinds = 0;
  for (const schema of Object.values(definitions)) {
    const gvks = isObject(schema) ? schema['x-kubernetes-group-version-kind'] : undefined;
    if (!Array.isArray(gvks)) continue;
    const kindSchema = convert(schema, '_definitions.json');
    for (const gvk of gvks) {
      if (!isObject(gvk) || typeof gvk.kind !== 'string' || typeof gvk.group !== 'string' || typeof gvk.version !== 'string') continue;
      writeFileSync(join(partial, kubeconformSchemaFile(gvk.kind, gvk.group, gvk.version)), JSON.stringify(kindSchema));
      kinds++;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return kinds;
}
