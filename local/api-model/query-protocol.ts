/**
 * The AWS query protocol (CloudFormation, STS) for stand-ins: a form-encoded request turned back into its
 * operation's input structure (so it can be checked against the model like a JSON body), and an operation's
 * output written as the XML response the SDK parses.
 *
 * Protocol: https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 * - Request: `POST /`, `Content-Type: application/x-www-form-urlencoded`, `Action=<Operation>&Version=<apiVersion>`
 *   and the input members by name; a structure's members as `Name.Member`, a list's items as `Name.member.1`,
 *   `Name.member.2`, ... (flattened lists: `Name.1`), a map's entries as `Name.entry.1.key` / `.value`.
 * - Response: `<OperationResponse xmlns="<xmlNamespace>"><OperationResult>...members...</OperationResult>
 *   <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></OperationResponse>`, lists as `<member>`
 *   elements, timestamps in ISO 8601.
 * - Error: HTTP 400 (or the error shape's status) with `<ErrorResponse><Error><Type>Sender</Type><Code>...</Code>
 *   <Message>...</Message></Error><RequestId>...</RequestId></ErrorResponse>`.
 */
import { MemberRef, ServiceModel } from './service-model';

/** A query-protocol request that does not fit its operation's model (a member it does not define, a bad number). */
export interface QueryParseProblem {
  readonly parameter: string;
  readonly problem: string;
}

/** The input structure a query-protocol request carries, and the parameters that fit no member. */
export function queryInput(
  model: ServiceModel,
  operation: string,
  params: URLSearchParams,
): { input: Record<string, unknown>; problems: QueryParseProblem[] } {
  const op = model.operations[operation];
  if (!op) throw new Error(`${model.metadata.serviceId} has no operation ${operation}`);
  const used = new Set(['Action', 'Version']);
  const problems: QueryParseProblem[] = [];

  const read = (ref: MemberRef, prefix: string): unknown => {
    const shape = model.shapes[ref.shape];
    switch (shape.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          const value = read(member, `${prefix}${prefix ? '.' : ''}${member.locationName ?? name}`);
          if (value !== undefined) out[name] = value;
        }
        return prefix && Object.keys(out).length === 0 ? undefined : out;
      }
      case 'list': {
        const items: unknown[] = [];
        for (let i = 1; ; i++) {
          const item = read(shape.member!, shape.flattened ? `${prefix}.${i}` : `${prefix}.member.${i}`);
          if (item === undefined) break;
          items.push(item);
        }
        // An empty list is sent as the bare name with an empty value.
        if (items.length === 0 && params.get(prefix) === '') {
          used.add(prefix);
          return [];
        }
        return items.length > 0 ? items : undefined;
      }
      case 'map': {
        const out: Record<string, unknown> = {};
        for (let i = 1; ; i++) {
          const key = read(shape.key!, `${prefix}.entry.${i}.key`);
          if (key === undefined) break;
          out[String(key)] = read(shape.value!, `${prefix}.entry.${i}.value`);
        }
        return Object.keys(out).length > 0 ? out : undefined;
      }
      default: {
        const raw = params.get(prefix);
        if (raw === null) return undefined;
        used.add(prefix);
        if (shape.type === 'boolean') return raw === 'true';
        if (shape.type === 'integer' || shape.type === 'long' || shape.type === 'float' || shape.type === 'double') {
          const n = Number(raw);
          if (raw.trim() === '' || !Number.isFinite(n)) problems.push({ parameter: prefix, problem: `'${raw}' is not a number` });
          return n;
        }
        return raw;
      }
    }
  };

  const input = op.input ? (read(op.input, '') as Record<string, unknown>) : {};
  for (const name of params.keys()) {
    if (!used.has(name)) problems.push({ parameter: name, problem: `is not a member of ${op.input?.shape ?? `${operation}'s input`}` });
  }
  return { input, problems };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A value of `ref`'s shape as the XML elements inside its element. */
function xmlOf(model: ServiceModel, ref: MemberRef, value: unknown): string {
  const shape = model.shapes[ref.shape];
  switch (shape.type) {
    case 'structure':
      return Object.entries(shape.members ?? {})
        .flatMap(([name, member]) => {
          const v = (value as Record<string, unknown>)[name];
          if (v === undefined || v === null) return [];
          const tag = member.locationName ?? name;
          const memberShape = model.shapes[member.shape];
          // A flattened list repeats the member's own element name, without a wrapper.
          if (memberShape.type === 'list' && memberShape.flattened)
            return (v as unknown[]).map((item) => `<${tag}>${xmlOf(model, memberShape.member!, item)}</${tag}>`);
          return [`<${tag}>${xmlOf(model, member, v)}</${tag}>`];
        })
        .join('');
    case 'list': {
      const tag = shape.member!.locationName ?? 'member';
      return (value as unknown[]).map((item) => `<${tag}>${xmlOf(model, shape.member!, item)}</${tag}>`).join('');
    }
    case 'map':
      return Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `<entry><key>${escapeXml(k)}</key><value>${xmlOf(model, shape.value!, v)}</value></entry>`)
        .join('');
    case 'timestamp':
      return new Date(typeof value === 'number' ? value * 1000 : (value as string | Date)).toISOString();
    default:
      return escapeXml(String(value));
  }
}

/** The XML body of a successful query-protocol response: the operation's output, wrapped as the service wraps it. */
export function queryResponseXml(model: ServiceModel, operation: string, output: Record<string, unknown>, requestId: string): string {
  const op = model.operations[operation];
  const ns = model.metadata.xmlNamespace;
  const result = op.output ? xmlOf(model, { shape: op.output.shape }, output) : '';
  const wrapper = op.output?.resultWrapper;
  return (
    `<${operation}Response${ns ? ` xmlns="${ns}"` : ''}>${wrapper ? `<${wrapper}>${result}</${wrapper}>` : result}` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata></${operation}Response>`
  );
}

/** The XML body of a query-protocol error response. */
export function queryErrorXml(code: string, message: string, requestId: string, sender = true): string {
  return (
    `<ErrorResponse><Error><Type>${sender ? 'Sender' : 'Receiver'}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  );
}
