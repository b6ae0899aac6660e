/**
 * What CloudFormation returns for the resource types whose names the platform's templates point at: the
 * property that names one (checked against cfn-lint's schemas by test/cfn-evaluator.test.ts), what `Ref`
 * returns, the attributes `Fn::GetAtt` reads, and the ARN it is known by.
 *
 * ARN formats: AWS's Service Authorization Reference, "Resource types defined by <service>"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 * Ref and GetAtt: the "Return values" section of each type's page in the CloudFormation template reference
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html).
 * A type not listed here still evaluates: its Ref and attributes are opaque values (`{{opaque:...}}`), which a
 * check that needs a name reports.
 *
 * Placeholders: {partition} {region} {account} {urlSuffix} of the stack; {name} the physical name (the name
 * property's value, or the name CloudFormation generates); {id} an identifier the service generates; {arn} the
 * type's ARN; {prop:Name} the evaluated property Name; {nameWithoutLeadingSlash} the name less a leading "/"
 * (SSM parameter ARNs).
 */

/** How one resource type is named and referred to. */
export interface ResourceTypeRule {
  /** A short kind used in findings and in the rehearsal's catalogue, e.g. "lambda function". */
  readonly kind: string;
  /** The property that names it; unset: the service generates an identifier ({id}) instead. */
  readonly nameProperty?: string;
  /** The ARN the resource is known by (and GetAtt Arn, unless `attributes` says otherwise). */
  readonly arn?: string;
  /** More ARNs (globs) that name it or its parts: a function's versions, a log group's streams, a table's indexes. */
  readonly alsoNamedBy?: string[];
  /** What Ref returns. */
  readonly ref: string;
  /** Attributes other than the name property (which GetAtt returns as the name). */
  readonly attributes?: Record<string, string>;
  /** Longest name CloudFormation generates, and whether it lower-cases it. @default 64, mixed case */
  readonly generated?: { readonly maxLength?: number; readonly lowerCase?: boolean };
}

const SAR = 'https://docs.aws.amazon.com/service-authorization/latest/reference';

/** Where each rule's ARN format is written (the rule's Ref and attributes: the type's template reference page). */
export const ARN_SOURCES: Record<string, string> = {
  lambda: `${SAR}/list_awslambda.html#awslambda-resources-for-iam-policies`,
  sns: `${SAR}/list_amazonsns.html#amazonsns-resources-for-iam-policies`,
  sqs: `${SAR}/list_amazonsqs.html#amazonsqs-resources-for-iam-policies`,
  logs: `${SAR}/list_amazoncloudwatchlogs.html#amazoncloudwatchlogs-resources-for-iam-policies`,
  dynamodb: `${SAR}/list_amazondynamodb.html#amazondynamodb-resources-for-iam-policies`,
  states: `${SAR}/list_awsstepfunctions.html#awsstepfunctions-resources-for-iam-policies`,
  sagemaker: `${SAR}/list_amazonsagemaker.html#amazonsagemaker-resources-for-iam-policies`,
  s3: `${SAR}/list_amazons3.html#amazons3-resources-for-iam-policies`,
  kms: `${SAR}/list_awskeymanagementservice.html#awskeymanagementservice-resources-for-iam-policies`,
  iam: `${SAR}/list_awsidentityandaccessmanagementiam.html#awsidentityandaccessmanagementiam-resources-for-iam-policies`,
  cloudwatch: `${SAR}/list_amazoncloudwatch.html#amazoncloudwatch-resources-for-iam-policies`,
  events: `${SAR}/list_amazoneventbridge.html#amazoneventbridge-resources-for-iam-policies`,
  'execute-api': `${SAR}/list_amazonapigateway.html#amazonapigateway-resources-for-iam-policies`,
  apigateway: `${SAR}/list_amazonapigatewaymanagement.html#amazonapigatewaymanagement-resources-for-iam-policies`,
  wafv2: `${SAR}/list_awswafv2.html#awswafv2-resources-for-iam-policies`,
  ssm: `${SAR}/list_awssystemsmanager.html#awssystemsmanager-resources-for-iam-policies`,
  ecr: `${SAR}/list_amazonelasticcontainerregistry.html#amazonelasticcontainerregistry-resources-for-iam-policies`,
  secretsmanager: `${SAR}/list_awssecretsmanager.html#awssecretsmanager-resources-for-iam-policies`,
};

const REGIONAL = (service: string, resource: string) => `arn:{partition}:${service}:{region}:{account}:${resource}`;

export const RESOURCE_TYPES: Record<string, ResourceTypeRule> = {
  'AWS::Lambda::Function': {
    kind: 'lambda function',
    nameProperty: 'FunctionName',
    arn: REGIONAL('lambda', 'function:{name}'),
    alsoNamedBy: ['{arn}:*'],
    ref: '{name}',
  },
  'AWS::Lambda::LayerVersion': {
    kind: 'lambda layer',
    nameProperty: 'LayerName',
    arn: REGIONAL('lambda', 'layer:{name}:1'),
    ref: '{arn}',
    attributes: { LayerVersionArn: '{arn}' },
  },
  'AWS::SNS::Topic': {
    kind: 'sns topic',
    nameProperty: 'TopicName',
    arn: REGIONAL('sns', '{name}'),
    ref: '{arn}',
    attributes: { TopicArn: '{arn}' },
  },
  'AWS::SQS::Queue': {
    kind: 'sqs queue',
    nameProperty: 'QueueName',
    arn: REGIONAL('sqs', '{name}'),
    ref: 'https://sqs.{region}.{urlSuffix}/{account}/{name}',
    attributes: { QueueUrl: 'https://sqs.{region}.{urlSuffix}/{account}/{name}' },
    generated: { maxLength: 80 },
  },
  // GetAtt Arn of a log group ends in ":*" (its template reference page); IAM grants name the group or its streams.
  'AWS::Logs::LogGroup': {
    kind: 'log group',
    nameProperty: 'LogGroupName',
    arn: REGIONAL('logs', 'log-group:{name}'),
    ref: '{name}',
    alsoNamedBy: ['{arn}:*', '{arn}:log-stream:*'],
    attributes: { Arn: '{arn}:*' },
    generated: { maxLength: 512 },
  },
  'AWS::DynamoDB::Table': {
    kind: 'dynamodb table',
    nameProperty: 'TableName',
    arn: REGIONAL('dynamodb', 'table/{name}'),
    alsoNamedBy: ['{arn}/index/*', '{arn}/stream/*'],
    ref: '{name}',
    generated: { maxLength: 255 },
  },
  'AWS::StepFunctions::StateMachine': {
    kind: 'state machine',
    nameProperty: 'StateMachineName',
    arn: REGIONAL('states', 'stateMachine:{name}'),
    alsoNamedBy: [REGIONAL('states', 'execution:{name}:*')],
    ref: '{arn}',
    attributes: { Name: '{name}' },
    generated: { maxLength: 80 },
  },
  'AWS::SageMaker::Endpoint': {
    kind: 'sagemaker endpoint',
    nameProperty: 'EndpointName',
    arn: REGIONAL('sagemaker', 'endpoint/{name}'),
    ref: '{arn}',
    attributes: { EndpointArn: '{arn}' },
    generated: { maxLength: 63 },
  },
  'AWS::SageMaker::EndpointConfig': {
    kind: 'sagemaker endpoint-config',
    nameProperty: 'EndpointConfigName',
    arn: REGIONAL('sagemaker', 'endpoint-config/{name}'),
    ref: '{arn}',
    attributes: { EndpointConfigArn: '{arn}' },
    generated: { maxLength: 63 },
  },
  'AWS::SageMaker::Model': {
    kind: 'sagemaker model',
    nameProperty: 'ModelName',
    arn: REGIONAL('sagemaker', 'model/{name}'),
    ref: '{arn}',
    attributes: { ModelArn: '{arn}' },
    generated: { maxLength: 63 },
  },
  'AWS::SageMaker::ModelPackageGroup': {
    kind: 'sagemaker model-package-group',
    nameProperty: 'ModelPackageGroupName',
    arn: REGIONAL('sagemaker', 'model-package-group/{name}'),
    ref: '{arn}',
    attributes: { ModelPackageGroupArn: '{arn}' },
    generated: { maxLength: 63 },
  },
  'AWS::S3::Bucket': {
    kind: 's3 bucket',
    nameProperty: 'BucketName',
    arn: 'arn:{partition}:s3:::{name}',
    ref: '{name}',
    attributes: { DomainName: '{name}.s3.{urlSuffix}', RegionalDomainName: '{name}.s3.{region}.{urlSuffix}' },
    generated: { maxLength: 63, lowerCase: true },
  },
  'AWS::KMS::Key': { kind: 'kms key', arn: REGIONAL('kms', 'key/{id}'), ref: '{id}', attributes: { KeyId: '{id}' } },
  'AWS::KMS::Alias': { kind: 'kms alias', nameProperty: 'AliasName', arn: REGIONAL('kms', '{name}'), ref: '{name}' },
  'AWS::IAM::Role': {
    kind: 'iam role',
    nameProperty: 'RoleName',
    arn: 'arn:{partition}:iam::{account}:role/{name}',
    ref: '{name}',
    attributes: { RoleId: '{id}' },
  },
  'AWS::CloudWatch::Alarm': {
    kind: 'cloudwatch alarm',
    nameProperty: 'AlarmName',
    arn: REGIONAL('cloudwatch', 'alarm:{name}'),
    ref: '{name}',
    generated: { maxLength: 255 },
  },
  'AWS::CloudWatch::Dashboard': {
    kind: 'cloudwatch dashboard',
    nameProperty: 'DashboardName',
    arn: 'arn:{partition}:cloudwatch::{account}:dashboard/{name}',
    ref: '{name}',
  },
  // Ref returns the rule's name, although its registry schema's primary identifier is the ARN.
  'AWS::Events::Rule': { kind: 'events rule', nameProperty: 'Name', arn: REGIONAL('events', 'rule/{name}'), ref: '{name}' },
  'AWS::ApiGateway::RestApi': {
    kind: 'rest api',
    arn: 'arn:{partition}:apigateway:{region}::/restapis/{id}',
    alsoNamedBy: ['{arn}/*', REGIONAL('execute-api', '{id}/*')],
    ref: '{id}',
    attributes: { RestApiId: '{id}' },
  },
  // Ref returns the stage name; the registry schema's identifier is [RestApiId, StageName].
  'AWS::ApiGateway::Stage': {
    kind: 'rest api stage',
    nameProperty: 'StageName',
    arn: 'arn:{partition}:apigateway:{region}::/restapis/{prop:RestApiId}/stages/{name}',
    ref: '{name}',
  },
  // Ref returns "name|id|scope" (the registry identifier joined with "|").
  'AWS::WAFv2::WebACL': {
    kind: 'waf web acl',
    nameProperty: 'Name',
    arn: REGIONAL('wafv2', 'regional/webacl/{name}/{id}'),
    ref: '{name}|{id}|{prop:Scope}',
    attributes: { Id: '{id}' },
  },
  'AWS::SSM::Parameter': {
    kind: 'ssm parameter',
    nameProperty: 'Name',
    arn: REGIONAL('ssm', 'parameter/{nameWithoutLeadingSlash}'),
    ref: '{name}',
  },
  'AWS::SecretsManager::Secret': {
    kind: 'secret',
    nameProperty: 'Name',
    arn: REGIONAL('secretsmanager', 'secret:{name}-AbCdEf'),
    ref: '{arn}',
  },
  'AWS::ECR::Repository': {
    kind: 'ecr repository',
    nameProperty: 'RepositoryName',
    arn: REGIONAL('ecr', 'repository/{name}'),
    ref: '{name}',
    generated: { maxLength: 256, lowerCase: true },
  },
};
