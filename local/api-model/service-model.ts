/**
 * AWS service API models as botocore publishes them (`botocore/data/<service>/<version>/service-2.json`, often
 * gzipped), read from the project venv, where botocore comes with moto and is pinned in
 * training-image/requirements-dev.txt. No copy is committed: the model in use is always the pinned release's.
 *
 * Format: https://github.com/boto/botocore/tree/develop/botocore/data (one JSON document per service version:
 * metadata, operations and shapes, with the Smithy constraint traits flattened into `min`, `max`, `pattern`,
 * `enum` and `required`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A member of a structure, or the member/key/value of a list or map. */
export interface MemberRef {
  readonly shape: string;
  /** Where a REST protocol carries the member: `uri`, `header`, `headers`, `querystring` (absent: the body). */
  readonly location?: 'uri' | 'header' | 'headers' | 'querystring' | 'statusCode';
  /** The name at that location (a header name, a URI label). */
  readonly locationName?: string;
}

export interface Shape {
  readonly type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'float' | 'double' | 'boolean' | 'timestamp' | 'blob';
  readonly members?: Record<string, MemberRef>;
  readonly required?: readonly string[];
  /** A union: exactly one member is set. */
  readonly union?: boolean;
  /** The member carried as the whole HTTP body (REST protocols). */
  readonly payload?: string;
  readonly member?: MemberRef;
  readonly key?: MemberRef;
  readonly value?: MemberRef;
  readonly enum?: readonly string[];
  /** A Java regular expression (see java-pattern.ts). */
  readonly pattern?: string;
  readonly min?: number;
  readonly max?: number;
  /** Values the service never echoes back in errors. */
  readonly sensitive?: boolean;
  /** Query/XML protocols: a list written as repeated elements, without a wrapper and `member` elements. */
  readonly flattened?: boolean;
  /** An error shape: its HTTP status (REST protocols) and, where it differs from the shape name, its code. */
  readonly error?: { readonly httpStatusCode?: number; readonly code?: string; readonly senderFault?: boolean };
}

export interface Operation {
  readonly name: string;
  /** `responseCode`: the HTTP status of a success (REST protocols; 200 when absent). */
  readonly http: { readonly method: string; readonly requestUri: string; readonly responseCode?: number };
  readonly input?: { readonly shape: string };
  /** `resultWrapper`: the element around the output in a query-protocol response (`<XxxResult>`). */
  readonly output?: { readonly shape: string; readonly resultWrapper?: string };
}

export interface ServiceModel {
  readonly metadata: {
    readonly protocol: string;
    /** Every protocol the service speaks, preferred first (newer models: CloudWatch speaks CBOR, JSON and query). */
    readonly protocols?: readonly string[];
    readonly serviceId: string;
    readonly apiVersion: string;
    readonly jsonVersion?: string;
    readonly targetPrefix?: string;
    /** Query protocols: the namespace of the XML responses. */
    readonly xmlNamespace?: string;
  };
  readonly operations: Record<string, Operation>;
  readonly shapes: Record<string, Shape>;
}

/** The venv's site-packages (.venv/lib/python3.X/site-packages). */
function sitePackages(): string {
  const lib = path.join(REPO_ROOT, '.venv', 'lib');
  const python = fs.existsSync(lib) ? fs.readdirSync(lib).find((d) => /^python3\.\d+$/.test(d)) : undefined;
  const dir = python && path.join(lib, python, 'site-packages');
  if (!dir || !fs.existsSync(path.join(dir, 'botocore', 'data'))) {
    throw new Error(`botocore is not installed in ${lib}: run scripts/ensure-python.sh (it installs moto, which brings botocore)`);
  }
  return dir;
}

/** The installed botocore release (from its dist-info), e.g. '1.44.8'. */
export function botocoreVersion(): string {
  const info = fs.readdirSync(sitePackages()).find((d) => /^botocore-.+\.dist-info$/.test(d));
  if (!info) throw new Error('botocore has no dist-info in the venv');
  return info.replace(/^botocore-/, '').replace(/\.dist-info$/, '');
}

/** A file that may be stored gzipped (`<file>.gz`, as botocore ships most models). */
function readMaybeGzipped(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  if (fs.existsSync(`${file}.gz`)) return zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString('utf8');
  throw new Error(`no ${file} or ${file}.gz`);
}

const cache = new Map<string, ServiceModel>();

/**
 * The API model of a service by its botocore name (`sagemaker`, `sagemaker-runtime`, `dynamodb`,
 * `secretsmanager`, `service-quotas`, `lambda`, `ssm`, `cloudformation`, `sts`), at its newest API version, as
 * the SDKs call it.
 */
export function loadServiceModel(service: string): ServiceModel {
  const cached = cache.get(service);
  if (cached) return cached;
  const dir = path.join(sitePackages(), 'botocore', 'data', service);
  if (!fs.existsSync(dir)) throw new Error(`botocore has no model for service ${service}`);
  const versions = fs
    .readdirSync(dir)
    .filter(
      (v) =>
        /^\d{4}-\d{2}-\d{2}$/.test(v) &&
        (fs.existsSync(path.join(dir, v, 'service-2.json')) || fs.existsSync(path.join(dir, v, 'service-2.json.gz'))),
    )
    .sort();
  if (versions.length === 0) throw new Error(`botocore has no service-2.json for ${service}`);
  const model = JSON.parse(readMaybeGzipped(path.join(dir, versions[versions.length - 1], 'service-2.json'))) as ServiceModel;
  cache.set(service, model);
  return model;
}
