import { Template } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import { load } from 'js-yaml';
import * as path from 'path';

import { CONTENT_TYPES, jsonRequestProblem, PREDICTION_REQUEST_SCHEMA } from '../constructs/serving/runtime/prediction-request';
import { buildServing } from './support/serving';

/** Untyped template JSON, as Template.toJSON() returns it. */
type Json = ReturnType<Template['toJSON']>[string];

type Doc = Json;
const openapi = load(fs.readFileSync(path.join(__dirname, '..', 'openapi', 'inference-api.yaml'), 'utf8')) as Doc;

/** "METHOD /path" of every method of the API in the template. */
function routes(template: Template): string[] {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (!id || !resources[id]) return '';
    return `${pathOf(resources[id].Properties.ParentId)}/${resources[id].Properties.PathPart}`;
  };
  return Object.values(template.findResources('AWS::ApiGateway::Method'))
    .map((m) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'}`)
    .sort();
}

function documentedRoutes(): string[] {
  return Object.entries(openapi.paths as Doc)
    .flatMap(([p, ops]) => Object.keys(ops as Doc).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
}

describe('openapi/inference-api.yaml', () => {
  const iam = Template.fromStack(buildServing().serving);
  const method = Object.values(iam.findResources('AWS::ApiGateway::Method'))[0].Properties;
  const predict = openapi.paths['/predict'].post;

  test('is OpenAPI 3', () => {
    expect(openapi.openapi).toMatch(/^3\./);
  });

  test('documents exactly the deployed paths and methods', () => {
    expect(documentedRoutes()).toEqual(routes(iam));
  });

  test('documents SigV4 (IAM) auth, which the deployed method requires', () => {
    expect(method.AuthorizationType).toBe('AWS_IAM');
    expect(openapi.security).toEqual([{ sigv4: [] }]);
    expect(openapi.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
  });

  test('documents the x-api-key header that apiAuth=api-key deploys', () => {
    const keyed = Template.fromStack(buildServing({ apiAuth: 'api-key' }).serving);
    expect(documentedRoutes()).toEqual(routes(keyed));
    keyed.hasResourceProperties('AWS::ApiGateway::Method', { ApiKeyRequired: true });
    expect(openapi.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
  });

  test('the JSON request schema is the one API Gateway validates with', () => {
    const [model] = Object.values(iam.findResources('AWS::ApiGateway::Model'));
    expect(model.Properties.Schema).toEqual(PREDICTION_REQUEST_SCHEMA);
    const deployed = { ...model.Properties.Schema };
    delete deployed.$schema;
    delete deployed.title;
    expect(openapi.components.schemas.PredictionRequest).toEqual(deployed);
    expect(predict.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PredictionRequest' });
    expect(method.RequestModels).toEqual({ 'application/json': expect.anything() });
  });

  test('documents the content types the proxy accepts and the required Content-Type header', () => {
    expect(Object.keys(predict.requestBody.content).sort()).toEqual([...CONTENT_TYPES].sort());
    expect(predict.parameters).toEqual([expect.objectContaining({ name: 'Content-Type', in: 'header', required: true })]);
    expect(method.RequestParameters).toEqual({ 'method.request.header.Content-Type': true });
  });

  test('its JSON examples, positional and named, are valid requests for the 64-feature digits model', () => {
    const { positional, named } = predict.requestBody.content['application/json'].examples;
    expect(jsonRequestProblem(positional.value)).toBeUndefined();
    expect(jsonRequestProblem(named.value)).toBeUndefined();
    expect(positional.value.instances[0]).toHaveLength(64);
    // The named row is the positional one under the digits CSV's column names.
    const header = fs
      .readFileSync(path.join(__dirname, '..', 'training-image', 'sample-data', 'raw', 'digits.csv'), 'utf8')
      .split('\n')[0]
      .split(',');
    expect(named.value.instances[0]).toEqual(
      Object.fromEntries(header.filter((name) => name !== 'label').map((name, i) => [name, positional.value.instances[0][i]])),
    );
    expect(predict.requestBody.content['text/csv'].example.trim().split(',')).toHaveLength(64);
  });

  test('documents every status the API answers with', () => {
    expect(Object.keys(predict.responses).sort()).toEqual(['200', '400', '403', '413', '415', '422', '429', '502', '503', '504']);
  });

  test('the server URL names the deployed stage', () => {
    const [stage] = Object.values(iam.findResources('AWS::ApiGateway::Stage'));
    expect(openapi.servers[0].url).toMatch(new RegExp(`/${stage.Properties.StageName}$`));
  });
});
