import { Match, Template } from 'aws-cdk-lib/assertions';

import { PREDICTION_REQUEST_SCHEMA } from '../constructs/serving/runtime/prediction-request';
import { MAX_BODY_BYTES } from '../constructs/serving/runtime/request-limits';
import { CfnTemplate, resolve } from './support/cfn-template';
import { stableTemplate } from './support/platform';
import { buildServing } from './support/serving';

/** Untyped template JSON, as Template.toJSON() returns it. */
type Json = ReturnType<Template['toJSON']>[string];

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }>;

function only(template: Template, type: string): { id: string; props: Json } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return { id: ids[0], props: found[ids[0]].Properties };
}

describe('Serving stack (defaults)', () => {
  const { serving, platform } = buildServing();
  const template = Template.fromStack(serving);
  const resources = template.toJSON().Resources as Resources;
  // The name the stack gives the endpoint ends in a part of the stack id (resolved at deploy time): compared as the
  // template has it. What the stack hands to others is the endpoint's attribute (serving.endpointName).
  const endpointId = only(template, 'AWS::SageMaker::Endpoint').id;
  const endpointName = only(template, 'AWS::SageMaker::Endpoint').props.EndpointName;

  describe('endpoint', () => {
    test('hosts a network-isolated model from the model package version the SSM pointer names', () => {
      const model = only(template, 'AWS::SageMaker::Model').props;
      expect(model.EnableNetworkIsolation).toBe(true);
      // Image and artifact come from the version; the pointer is read by CloudFormation at each deploy.
      expect(model.PrimaryContainer).toEqual({ ModelPackageName: { Ref: 'ServedModelPackage' } });
      expect(template.toJSON().Parameters.ServedModelPackage).toEqual(
        expect.objectContaining({
          Type: 'AWS::SSM::Parameter::Value<String>',
          Default: '/DlPlatform/serving/model-package-arn',
        }),
      );
      expect(platform.training.registry.pointerParameterName).toBe('/DlPlatform/serving/model-package-arn');
      // The pointer is no CloudFormation resource of any stack: only the platform's registration step writes it.
      for (const stack of [platform.training, serving]) {
        const names = Object.values(Template.fromStack(stack).findResources('AWS::SSM::Parameter')).map((r) => r.Properties.Name);
        expect(names).not.toContain('/DlPlatform/serving/model-package-arn');
        expect(names.filter((n) => n !== undefined)).toEqual([]);
      }
    });

    test('deploys after the training stack, whose registration writes the pointer it reads', () => {
      expect(serving.dependencies).toContain(platform.training);
    });

    test('servingModelPackageVersion pins an earlier approved version (rollback without training)', () => {
      const pinned = buildServing({ servingModelPackageVersion: '3' });
      const t = Template.fromStack(pinned.serving);
      const model = only(t, 'AWS::SageMaker::Model').props;
      // Built from the Training stack's group ARN, read through its output: never from this stack's own id.
      const groupArn = 'arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/dlplatform-models-0123456789ab';
      const resolved = resolve(t.toJSON() as CfnTemplate, model.PrimaryContainer.ModelPackageName, {
        refs: {
          'AWS::Region': 'eu-west-1',
          'AWS::StackId': 'arn:aws:cloudformation:eu-west-1:123456789012:stack/DlPlatform-Serving/0a1b2c3d-4e5f-4a6b-8c7d-ffffffffffff',
        },
        stackOutput: (stack, output) => {
          expect([stack, output]).toEqual(['DlPlatform-Training', expect.stringMatching(/ModelRegistryGroup\w*ModelPackageGroupArn/)]);
          return groupArn;
        },
      });
      expect(resolved).toBe('arn:aws:sagemaker:eu-west-1:123456789012:model-package/dlplatform-models-0123456789ab/3');
      expect(t.toJSON().Parameters?.ServedModelPackage).toBeUndefined();
      // No training input changed, so the training job is the same: the rollback trains nothing.
      expect(pinned.platform.training.trainingJobName).toBe(platform.training.trainingJobName);
    });

    test("the model role reads only the platform's model artifacts, decrypts with the key and writes only captured traffic and its own logs", () => {
      const role = only(template, 'AWS::SageMaker::Model').props.ExecutionRoleArn['Fn::GetAtt'][0];
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
      });
      const policy = Object.values(resources).find(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role),
      )!;
      const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
      const byAction = (action: string) => statements.find((s) => [s.Action].flat().includes(action))!;
      // Only the objects the platform's training jobs write: <S3OutputPath><job name>/output/model.tar.gz, any of
      // its jobs (any approved version may be served).
      const training = JSON.stringify(Template.fromStack(platform.training).toJSON());
      const outputPath = training.slice(training.indexOf('S3OutputPath'));
      const outputPrefix =
        /^S3OutputPath\\":\\"s3:\/\/",\{"Fn::GetStackOutput":.*?"OutputName":"[^"]*ModelBucket[^"]*"\}\},"\/([^"\\]*)\\"/.exec(
          outputPath,
        )![1];
      expect(outputPrefix).toMatch(/\/$/);
      expect(byAction('s3:GetObject').Resource).toEqual({
        'Fn::Join': [
          '',
          [
            {
              'Fn::GetStackOutput': expect.objectContaining({
                StackName: 'DlPlatform-Data',
                OutputName: expect.stringContaining('ModelBucket'),
              }),
            },
            `/${outputPrefix}${platform.training.jobNamePrefix}-*/output/model.tar.gz`,
          ],
        ],
      });
      expect(byAction('s3:GetObject').Action).toBe('s3:GetObject');
      // Decrypt reads the artifact; Encrypt and GenerateDataKey write the capture files (test/drift-check.test.ts).
      expect(byAction('kms:Decrypt').Action).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
      // Its own log group, /aws/sagemaker/Endpoints/<endpoint name>, created by the stack (test/security-gaps.test.ts).
      // (LogGroup.grant names the group both by its ARN and by `log-group:<name>`.)
      const logResources = [byAction('logs:PutLogEvents').Resource].flat();
      expect(logResources).toHaveLength(2);
      for (const r of logResources) expect(JSON.stringify(r)).toMatch(/"EndpointLogGroup[0-9A-F]+"/);
      // logs:CreateLogGroup too, in case SageMaker calls it for a group that exists (AWS does not say): that group only.
      expect([byAction('logs:CreateLogGroup').Resource].flat()).toEqual(logResources);
      expect(byAction('cloudwatch:PutMetricData').Condition).toEqual({
        StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints' },
      });
      expect(byAction('ecr:BatchGetImage')).toBeDefined();
    });

    test('no IAM policy of the stack grants a wildcard action', () => {
      for (const r of Object.values(resources).filter((x) => x.Type === 'AWS::IAM::Policy')) {
        for (const s of (r.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement) {
          for (const action of [s.Action].flat()) expect(action).not.toMatch(/\*/);
        }
      }
    });

    test('the endpoint config runs servingMinCapacity ml.m5.large instances with a KMS-encrypted volume', () => {
      const config = only(template, 'AWS::SageMaker::EndpointConfig').props;
      expect(config.ProductionVariants).toEqual([
        expect.objectContaining({ InstanceType: 'ml.m5.large', InitialInstanceCount: 1, VariantName: 'AllTraffic' }),
      ]);
      expect(config.KmsKeyId).toBeDefined();
    });

    test('updates blue/green all at once (one instance holds no canary), 5-minute baking and rollback on the error and latency alarms', () => {
      const endpoint = only(template, 'AWS::SageMaker::Endpoint');
      const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
      expect(endpoint.props.EndpointName).toEqual(endpointName);
      expect(endpoint.props.RetainAllVariantProperties).toBe(true);
      expect(endpoint.props.DeploymentConfig).toEqual({
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 300,
        },
        AutoRollbackConfiguration: { Alarms: alarms.map((id) => ({ AlarmName: { Ref: id } })) },
      });
    });

    test("the rollback alarms watch the variant's 5XX errors per minute and p99 model latency (in microseconds)", () => {
      const dimensions = [
        { Name: 'EndpointName', Value: endpointName },
        { Name: 'VariantName', Value: 'AllTraffic' },
      ];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SageMaker',
        MetricName: 'Invocation5XXErrors',
        Dimensions: dimensions,
        Statistic: 'Sum',
        Period: 60,
        Threshold: 5,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SageMaker',
        MetricName: 'ModelLatency',
        Dimensions: dimensions,
        ExtendedStatistic: 'p99',
        Period: 60,
        Threshold: 1_000_000,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    });

    test('target-tracks invocations per instance between servingMinCapacity and servingMaxCapacity', () => {
      const target = only(template, 'AWS::ApplicationAutoScaling::ScalableTarget');
      expect(target.props).toMatchObject({
        ServiceNamespace: 'sagemaker',
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        MinCapacity: 1,
        MaxCapacity: 4,
      });
      expect(target.props.ResourceId).toEqual({
        'Fn::Join': ['', [`endpoint/${endpointName['Fn::Join'][1][0]}`, ...endpointName['Fn::Join'][1].slice(1), '/variant/AllTraffic']],
      });
      expect(resources[target.id].DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^Endpoint/)]));
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          TargetValue: 600,
          PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        }),
      });
    });
  });

  describe('proxy function', () => {
    test("runs Node.js 24 on arm64 with active tracing, JSON logs and a deadline under API Gateway's 29 s", () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^ProxyLogGroup') } },
        Environment: { Variables: { ENDPOINT_NAME: Match.anyValue(), INVOKE_TIMEOUT_MS: '25000' } },
        Timeout: 27,
      });
    });

    test('logs to a KMS-encrypted log group kept for a year', () => {
      const [id] = Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((k) => k.startsWith('ProxyLogGroup'));
      expect(resources[id].Properties).toEqual({
        KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] },
        RetentionInDays: 365,
      });
    });

    test('may invoke only this endpoint, write its own logs and send traces', () => {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^ProxyRole') }],
        PolicyDocument: {
          Statement: [
            {
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Effect: 'Allow',
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyLogGroup'), 'Arn'] },
            },
            { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' },
            // The endpoint while it exists; while no model is approved, the ARN it will have (HasApprovedModel).
            {
              Action: 'sagemaker:InvokeEndpoint',
              Effect: 'Allow',
              Resource: { 'Fn::If': ['HasApprovedModel', { Ref: Match.stringLikeRegexp('^Endpoint') }, Match.anyValue()] },
            },
          ],
        },
      });
      const [policy] = Object.values(
        template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ProxyRole') }] } }),
      );
      const invoke = (policy.Properties.PolicyDocument.Statement as { Resource: { 'Fn::If': [string, unknown, unknown] } }[])[2].Resource[
        'Fn::If'
      ][2];
      const endpoint = only(template, 'AWS::SageMaker::Endpoint').props.EndpointName;
      const asText = (v: unknown) =>
        resolve(template.toJSON() as CfnTemplate, v, {
          refs: {
            'AWS::StackId': 'arn:aws:cloudformation:eu-west-1:123456789012:stack/DlPlatform-Serving/0a1b2c3d-4e5f-4a6b-8c7d-0123456789ab',
            'AWS::Partition': 'aws',
            'AWS::Region': 'eu-west-1',
            'AWS::AccountId': '123456789012',
          },
        }) as string;
      expect(asText(invoke)).toBe(`arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${asText(endpoint).toLowerCase()}`);
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
        ManagedPolicyArns: Match.absent(),
      });
    });

    test("is, with the drift check's two, a Lambda function of the stack listed for monitoring", () => {
      expect(serving.functions).toEqual([serving.proxyFunction, ...serving.drift!.functions]);
      expect(serving.drift!.functions).toHaveLength(2);
      template.resourceCountIs('AWS::Lambda::Function', serving.functions.length);
    });
  });

  describe('REST API', () => {
    test('is named after the stack, so its ApiName metrics are its own', () => {
      expect(only(template, 'AWS::ApiGateway::RestApi').props.Name).toBe(`${serving.stackName}-inference`);
      expect(serving.api.restApiName).toBe(`${serving.stackName}-inference`);
    });

    test('POST /predict requires IAM auth, validates the body and Content-Type and proxies to the function', () => {
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'predict' });
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        AuthorizationType: 'AWS_IAM',
        ApiKeyRequired: false,
        RequestValidatorId: { Ref: Match.stringLikeRegexp('RequestValidator') },
        RequestModels: { 'application/json': { Ref: Match.stringLikeRegexp('PredictionRequest') } },
        RequestParameters: { 'method.request.header.Content-Type': true },
        Integration: Match.objectLike({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST', TimeoutInMillis: 29000 }),
      });
      template.resourceCountIs('AWS::ApiGateway::Method', 1);
      template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    });

    test('the request model is the prediction-request JSON schema', () => {
      template.hasResourceProperties('AWS::ApiGateway::Model', {
        ContentType: 'application/json',
        Name: 'PredictionRequest',
        Schema: PREDICTION_REQUEST_SCHEMA,
      });
    });

    test('the stage throttles, traces and writes execution logs without request bodies', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'v1',
        TracingEnabled: true,
        MethodSettings: [
          {
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            MetricsEnabled: true,
            ThrottlingRateLimit: 100,
            ThrottlingBurstLimit: 200,
          },
        ],
      });
    });

    test('access logs are JSON in a KMS-encrypted log group, without the API key', () => {
      const stage = only(template, 'AWS::ApiGateway::Stage').props;
      const format = JSON.parse(stage.AccessLogSetting.Format);
      expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', ip: '$context.identity.sourceIp' });
      expect(stage.AccessLogSetting.Format).not.toContain('$context.identity.apiKey"');
      const [id] = JSON.stringify(stage.AccessLogSetting.DestinationArn).match(/InferenceApiAccessLogs[0-9A-F]+/)!;
      expect(resources[id].Properties).toMatchObject({
        KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] },
        RetentionInDays: 365,
      });
    });

    test('the execution log group exists before the stage, encrypted and kept for a year', () => {
      const [id] = Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((k) => k.startsWith('InferenceApiExecutionLogs'));
      expect(resources[id].Properties).toMatchObject({
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: expect.stringMatching(/^InferenceApi/) }, '/v1']] },
        KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] },
        RetentionInDays: 365,
      });
      expect(resources[only(template, 'AWS::ApiGateway::Stage').id].DependsOn).toContain(id);
    });

    test("API Gateway's own errors answer JSON with the request id", () => {
      for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
        template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
          ResponseType: type,
          ResponseTemplates: { 'application/json': '{"error": $context.error.messageString, "requestId": "$context.requestId"}' },
        });
      }
    });

    test('has no API key or usage plan with IAM auth', () => {
      template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
      template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    });
  });

  describe('WAF', () => {
    const acl = only(template, 'AWS::WAFv2::WebACL');
    const rules = acl.props.Rules as Json[];
    const rule = (name: string) => rules.find((r) => r.Name === name)!;

    test('is a regional web ACL associated with the API stage', () => {
      expect(acl.props).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} }, Name: serving.waf.webAclName });
      expect(acl.props.VisibilityConfig).toEqual({
        MetricName: serving.waf.metricName,
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      });
      const stage = only(template, 'AWS::ApiGateway::Stage');
      const association = only(template, 'AWS::WAFv2::WebACLAssociation');
      expect(association.props.WebACLArn).toEqual({ 'Fn::GetAtt': [acl.id, 'Arn'] });
      expect(JSON.stringify(association.props.ResourceArn)).toContain(`/stages/`);
      expect(JSON.stringify(association.props.ResourceArn)).toContain(`{"Ref":"${stage.id}"}`);
    });

    test('runs IP reputation, a per-IP rate limit, a body-size limit, Common and KnownBadInputs, in that order', () => {
      expect(rules.map((r) => r.Name)).toEqual([
        'AWSManagedRulesAmazonIpReputationList',
        'RateLimitPerIp',
        'BodySizeLimit',
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
      ]);
      expect(rules.map((r) => r.Priority)).toEqual([0, 1, 2, 3, 4]);
    });

    test('blocks an IP above wafRateLimitPer5Minutes with 429', () => {
      expect(rule('RateLimitPerIp')).toMatchObject({
        Statement: { RateBasedStatement: { Limit: 1000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      });
    });

    test("blocks bodies above the request-limits table's maxBytes with 413, oversize bodies included, inspecting up to 64 KB", () => {
      expect(MAX_BODY_BYTES).toBe(65536);
      expect(rule('BodySizeLimit')).toMatchObject({
        Statement: {
          SizeConstraintStatement: {
            FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
            ComparisonOperator: 'GT',
            Size: MAX_BODY_BYTES,
          },
        },
        Action: { Block: { CustomResponse: { ResponseCode: 413 } } },
      });
      expect(acl.props.AssociationConfig).toEqual({ RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_64' } } });
    });

    test('the Common rule set only counts SizeRestrictions_BODY, which the body-size rule replaces', () => {
      expect(rule('AWSManagedRulesCommonRuleSet')).toMatchObject({
        OverrideAction: { None: {} },
        Statement: {
          ManagedRuleGroupStatement: {
            VendorName: 'AWS',
            Name: 'AWSManagedRulesCommonRuleSet',
            RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
          },
        },
      });
      for (const name of ['AWSManagedRulesAmazonIpReputationList', 'AWSManagedRulesKnownBadInputsRuleSet']) {
        expect(rule(name)).toMatchObject({
          OverrideAction: { None: {} },
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: name } },
        });
      }
    });

    test('has no IP allow-list when apiAllowedCidrs is empty', () => {
      template.resourceCountIs('AWS::WAFv2::IPSet', 0);
    });

    test('logs to an encrypted aws-waf-logs- log group with credentials redacted', () => {
      const logging = only(template, 'AWS::WAFv2::LoggingConfiguration').props;
      expect(logging.ResourceArn).toEqual({ 'Fn::GetAtt': [acl.id, 'Arn'] });
      expect(logging.RedactedFields).toEqual([
        { SingleHeader: { Name: 'authorization' } },
        { SingleHeader: { Name: 'x-amz-security-token' } },
        { SingleHeader: { Name: 'x-api-key' } },
        { QueryString: {} },
      ]);
      const [id] = JSON.stringify(logging.LogDestinationConfigs).match(/WafLogs[0-9A-F]+/)!;
      expect(resources[id].Properties).toMatchObject({
        // Retained on destroy: the stack's unique id in the name lets the next deploy create a new group.
        LogGroupName: {
          'Fn::Join': [
            '',
            [`aws-waf-logs-${serving.waf.webAclName}-`, { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }],
          ],
        },
        KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] },
      });
      expect(JSON.stringify(logging.LogDestinationConfigs)).not.toContain(':*');
    });
  });

  test("the logs key rotates and only lets CloudWatch Logs use it for this account's log groups", () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  test('outputs the predict URL and the endpoint name, read from a parameter that exists even while the endpoint does not', () => {
    template.hasOutput('PredictUrl', { Value: Match.anyValue() });
    const [parameterId] = Object.keys(template.findResources('AWS::SSM::Parameter'));
    template.hasOutput('EndpointName', { Value: { 'Fn::GetAtt': [parameterId, 'Value'] } });
    expect(serving.resolve(serving.endpointName)).toEqual({ 'Fn::GetAtt': [parameterId, 'Value'] });
    const resources = template.toJSON().Resources;
    expect(resources[parameterId].Condition).toBeUndefined();
    expect(resources[parameterId].Properties.Value).toEqual(resources[endpointId].Properties.EndpointName);
    expect(resources[endpointId].Condition).toBe('HasApprovedModel');
    const url = JSON.stringify(template.toJSON().Outputs.PredictUrl.Value);
    expect(url).toContain(`{"Ref":"${only(template, 'AWS::ApiGateway::Stage').id}"},"/predict"`);
  });

  test('matches the snapshot', () => {
    // The training job's name hashes the training image and data, which change independently of this stack.
    const text = JSON.stringify(stableTemplate(serving)).split(platform.training.trainingJobName).join('TRAINING_JOB_NAME');
    expect(JSON.parse(text)).toMatchSnapshot();
  });
});

describe('Serving stack (overrides)', () => {
  const { serving } = buildServing({
    apiAuth: 'api-key',
    deploymentStrategy: 'linear',
    deploymentLinearStepPercent: 20,
    deploymentWaitSeconds: 120,
    servingInstanceType: 'ml.g5.xlarge',
    servingMinCapacity: 2,
    servingMaxCapacity: 2,
    apiAllowedCidrs: '203.0.113.0/24,198.51.100.7/32',
    wafRateLimitPer5Minutes: 500,
    rollbackAlarm5xxPerMinute: 2,
    rollbackAlarmModelLatencyP99Ms: 250,
  });
  const template = Template.fromStack(serving);

  test('apiAuth=api-key: the method needs an API key bound to a throttled usage plan on the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'NONE', ApiKeyRequired: true });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 100, BurstLimit: 200 },
      ApiStages: [{ ApiId: Match.anyValue(), Stage: Match.anyValue() }],
    });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    template.hasOutput('ApiKeyId', {});
  });

  test('deploymentStrategy=linear shifts deploymentLinearStepPercent per step', () => {
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: {
            Type: 'LINEAR',
            LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 20 },
            WaitIntervalInSeconds: 120,
          },
          TerminationWaitInSeconds: 120,
        },
      }),
    });
  });

  test('an instance type with NVMe instance storage gets no volume key (SageMaker rejects one)', () => {
    const config = only(template, 'AWS::SageMaker::EndpointConfig').props;
    expect(config.KmsKeyId).toBeUndefined();
    expect(config.ProductionVariants[0]).toMatchObject({ InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 2 });
  });

  test('no autoscaling when servingMinCapacity equals servingMaxCapacity', () => {
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  });

  test('the rollback alarm thresholds follow the settings', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocation5XXErrors', Threshold: 2 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ModelLatency', Threshold: 250_000 });
  });

  test('apiAllowedCidrs blocks every other address first, with 403', () => {
    template.hasResourceProperties('AWS::WAFv2::IPSet', {
      Scope: 'REGIONAL',
      IPAddressVersion: 'IPV4',
      Addresses: ['203.0.113.0/24', '198.51.100.7/32'],
    });
    const rules = only(template, 'AWS::WAFv2::WebACL').props.Rules as Json[];
    expect(rules[0]).toMatchObject({
      Name: 'BlockOutsideAllowList',
      Priority: 0,
      Statement: {
        NotStatement: {
          Statement: { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^WafAllowedCidrs/), 'Arn'] } } },
        },
      },
      Action: { Block: { CustomResponse: { ResponseCode: 403 } } },
    });
  });

  test("the WAF rate limit follows wafRateLimitPer5Minutes; the body limit stays the request-limits table's", () => {
    const acl = only(template, 'AWS::WAFv2::WebACL').props;
    const rules = acl.Rules as Json[];
    expect(rules.find((r) => r.Name === 'RateLimitPerIp')!.Statement.RateBasedStatement.Limit).toBe(500);
    expect(rules.find((r) => r.Name === 'BodySizeLimit')!.Statement.SizeConstraintStatement.Size).toBe(MAX_BODY_BYTES);
  });
});

describe('Serving stack (all at once)', () => {
  test('deploymentStrategy=all-at-once shifts all traffic, then bakes before the old fleet goes', () => {
    const template = Template.fromStack(buildServing({ deploymentStrategy: 'all-at-once' }).serving);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 300 },
          TerminationWaitInSeconds: 300,
        },
        AutoRollbackConfiguration: { Alarms: [Match.anyValue(), Match.anyValue()] },
      }),
    });
  });
});
