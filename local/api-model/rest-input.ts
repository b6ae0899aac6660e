/**
 * A REST protocol request (restJson1) turned back into its operation's input structure, so it can be checked
 * against the model: URI labels, headers and query strings by each member's `location`, the body as the
 * payload member (raw bytes for a blob payload) or as the JSON of the body members.
 * Protocol: https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html
 */
import { ServiceModel } from './service-model';

export interface RestRequest {
  /** The request path, without the query string. */
  readonly path: string;
  /** Header names in lower case (as Node's http gives them). */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly query: URLSearchParams;
  readonly body: Buffer;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The operation's input members found in the request; undefined when the path does not fit the operation's URI. */
export function restInput(model: ServiceModel, operation: string, request: RestRequest): Record<string, unknown> | undefined {
  const op = model.operations[operation];
  if (!op?.input) throw new Error(`${model.metadata.serviceId} has no operation ${operation} with input`);
  const [uriPath] = op.http.requestUri.split('?');
  const labels: string[] = [];
  const uri = new RegExp(
    `^${uriPath
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const label = /^\{([^}+]+)\+?\}$/.exec(part);
        if (!label) return escapeRegExp(part);
        labels.push(label[1]);
        return part.endsWith('+}') ? '(.+)' : '([^/]+)';
      })
      .join('')}$`,
  );
  const match = uri.exec(request.path);
  if (!match) return undefined;
  const values = Object.fromEntries(labels.map((label, i) => [label, decodeURIComponent(match[i + 1])]));

  const shape = model.shapes[op.input.shape];
  const input: Record<string, unknown> = {};
  let bodyMembers = false;
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const where = ref.locationName ?? name;
    if (ref.location === 'uri') {
      input[name] = values[where];
    } else if (ref.location === 'header') {
      const header = request.headers[where.toLowerCase()];
      if (header !== undefined) input[name] = Array.isArray(header) ? header.join(', ') : header;
    } else if (ref.location === 'querystring') {
      const q = request.query.get(where);
      if (q !== null) input[name] = q;
    } else if (shape.payload === name) {
      if (model.shapes[ref.shape].type === 'blob') input[name] = request.body;
      else if (request.body.length > 0) input[name] = JSON.parse(request.body.toString('utf8'));
    } else if (!ref.location) {
      bodyMembers = true;
    }
  }
  if (bodyMembers && !shape.payload && request.body.length > 0) Object.assign(input, JSON.parse(request.body.toString('utf8')));
  return input;
}
