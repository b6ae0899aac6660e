import { Match, Template } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { buildTestPlatform, stableTemplate } from './support/platform';
import { evaluate, KEY_ARN } from './support/training-job-events';

const DATA = 'arn:aws:s3:::dlplatform-data-databucket';
const MODEL = 'arn:aws:s3:::dlplatform-data-modelbucket';
const ECR_REPO = 'arn:aws:ecr:eu-west-1:123456789012:repository/cdk-hnb659fds-container-assets-123456789012-eu-west-1';
const LOGS = 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

describe('Training stack', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'training-stack-'));
  const { app, platform } = buildTestPlatform({}, outdir);
  app.synth();
  const stack = platform.training;
  const template = Template.fromStack(stack);
  const jobs = template.findResources('Custom::SageMakerTrainingJob');
  const [startId] = Object.keys(jobs).filter((id) => jobs[id].Properties.Phase === 'start');
  const request = JSON.parse(evaluate(jobs[startId].Properties.CreateTrainingJobRequest) as string);
  const jobName: string = stack.trainingJobName;
  const prepares = template.findResources('Custom::SageMakerProcessingJob', {
    Properties: { ProcessingJobName: Match.stringLikeRegexp('-prepare-') },
  });
  const [prepareId] = Object.keys(prepares).filter((id) => prepares[id].Properties.Phase === 'start');
  const prepareRequest = JSON.parse(evaluate(prepares[prepareId].Properties.CreateProcessingJobRequest) as string);
  const prepared = `s3://dlplatform-data-databucket/prepared/${stack.prepareJob.processingJobName}/data/`;
  const evaluations = template.findResources('Custom::SageMakerProcessingJob', {
    Properties: { ProcessingJobName: Match.stringLikeRegexp('-evaluate-') },
  });

  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  /** A role's policy statements, with references evaluated to concrete (fake) values. */
  function statementsOf(rolePrefix: string): Statement[] {
    const policies = template.findResources('AWS::IAM::Policy');
    const ids = Object.keys(policies).filter((id) => {
      const roles = policies[id].Properties.Roles as { Ref: string }[];
      return roles.some((r) => r.Ref.startsWith(rolePrefix));
    });
    expect(ids).toHaveLength(1);
    return evaluate(policies[ids[0]].Properties.PolicyDocument.Statement) as Statement[];
  }

  test('builds the image from training-image/ for linux/amd64, without tests, tools or caches', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.artifactId}.assets.json`), 'utf8'));
    const images = Object.values(manifest.dockerImages) as { source: { directory: string; platform: string } }[];
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe('linux/amd64');
    const staged = fs.readdirSync(path.join(outdir, images[0].source.directory)).sort();
    expect(staged).toEqual(expect.arrayContaining(['Dockerfile', 'entrypoint.py', 'requirements.txt', 'src']));
    expect(staged.filter((f) => ['tests', 'bench', 'scripts', 'sample-data', '.venv', '.pytest_cache', '.ruff_cache'].includes(f))).toEqual(
      [],
    );
    const files = fs.readdirSync(path.join(outdir, images[0].source.directory, 'src'), { recursive: true }) as string[];
    expect(files.filter((f) => /__pycache__|\.pyc$/.test(f))).toEqual([]);
    expect(request.AlgorithmSpecification.TrainingImage).toBe(
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-eu-west-1:${stack.image.assetHash}`,
    );
  });

  test('uploads the sample data under the versioned prefix, kept on stack delete, before prepare starts; training reads what prepare wrote', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'datasets/digits/v1/',
      RetainOnDelete: true,
    });
    const [upload] = Object.keys(template.findResources('Custom::CDKBucketDeployment'));
    expect(prepares[prepareId].DependsOn).toContain(upload);
    expect(prepareRequest.ProcessingInputs[0].S3Input.S3Uri).toBe('s3://dlplatform-data-databucket/datasets/digits/v1/');
    // Training starts after every resource of the prepare job (its completion included).
    const [finalPrepare] = Object.keys(prepares).filter((id) => prepares[id].Properties.FinalPhase === true);
    expect(jobs[startId].DependsOn).toContain(finalPrepare);
    expect(
      request.InputDataConfig.map((c: { ChannelName: string; DataSource: { S3DataSource: { S3Uri: string } } }) => [
        c.ChannelName,
        c.DataSource.S3DataSource.S3Uri,
      ]),
    ).toEqual([
      ['train', `${prepared}train/`],
      ['validation', `${prepared}validation/`],
      ['test', `${prepared}test/`],
      ['preprocessing', `${prepared}preprocessing/`],
    ]);
  });

  test("evaluates the trained model and the approved one on prepare's raw test rows in its own job, and registers with its report", () => {
    const [evaluateStart] = Object.values(evaluations).filter((r) => r.Properties.Phase === 'start');
    const evaluateRequest = JSON.parse(evaluate(evaluateStart.Properties.CreateProcessingJobRequest) as string);
    expect(evaluateRequest.AppSpecification.ContainerArguments).toEqual(['evaluate']);
    expect(
      evaluateRequest.ProcessingInputs.map((i: { InputName: string; S3Input: { S3Uri: string } }) => [i.InputName, i.S3Input.S3Uri]),
    ).toEqual([
      ['model', `s3://dlplatform-data-modelbucket/models/${jobName}/output/model.tar.gz`],
      ['test', `s3://dlplatform-data-databucket/prepared/${stack.prepareJob.processingJobName}/report/test-rows.csv`],
    ]);
    // The approved model is looked up when the job starts, among this platform's models only.
    const lookup = JSON.parse(evaluate(evaluateStart.Properties.ApprovedModelLookup) as string);
    const [registrationProps] = Object.values(template.findResources('Custom::ModelRegistration')).map((r) => r.Properties);
    expect(lookup.spec.approvedModels).toEqual({
      groupName: evaluate(registrationProps.ModelPackageGroupName),
      bucketName: 'dlplatform-data-modelbucket',
      keyPrefix: `models/${stack.trainingJob.jobNamePrefix}-`,
    });
    expect(lookup.identity.inputs).toEqual(stack.evaluateJob.identity.inputs);
    // It starts after the training job completed.
    const [finalTraining] = Object.keys(jobs).filter((id) => jobs[id].Properties.FinalPhase === true);
    expect(evaluateStart.DependsOn).toContain(finalTraining);
    const [registrationId, registration] = Object.entries(template.findResources('Custom::ModelRegistration'))[0];
    const [finalEvaluate] = Object.keys(evaluations).filter((id) => evaluations[id].Properties.FinalPhase === true);
    // The job the evaluate resource completed (named when it started), and the approved model it scored.
    expect(evaluate(registration.Properties.EvaluationUri)).toBe(
      `s3://dlplatform-data-modelbucket/evaluations/${finalEvaluate}.ProcessingJobName/evaluation/evaluation.json`,
    );
    expect(registration.Properties.ApprovedModelDataUrl).toEqual({ 'Fn::GetAtt': [finalEvaluate, 'ApprovedModelDataUrl'] });
    expect(template.toJSON().Resources[registrationId].DependsOn).toContain(finalEvaluate);
  });

  test('the execution role has exactly the least-privilege permissions, no managed policy and no wildcard action', () => {
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] } },
    });
    expect(
      Object.keys(roles)
        .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
        .sort(),
    ).toEqual(['EvaluateJobExecutionRole', 'PrepareJobExecutionRole', 'TrainingJobExecutionRole']);
    for (const role of Object.values(roles)) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const data = `prepared/${stack.prepareJob.processingJobName}/data/`;
    // The retraining pipeline's training jobs read the data of the run's own prepare job (retraining-job-access.ts).
    const runData = 'prepared/dlplatform-training-prepare-*/data/*';
    expect(statementsOf('TrainingJobExecutionRole')).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: [`${DATA}/${runData}`, `${DATA}/${data}*`] },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: DATA, Condition: { StringLike: { 's3:prefix': [`${data}*`] } } },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: `${MODEL}/models/dlplatform-training-*` },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${MODEL}/checkpoints/dlplatform-training-*` },
      {
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: MODEL,
        Condition: { StringLike: { 's3:prefix': ['checkpoints/dlplatform-training-*'] } },
      },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: KEY_ARN },
      { Effect: 'Allow', Action: 'kms:CreateGrant', Resource: KEY_ARN, Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } },
      {
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: ECR_REPO,
      },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      { Effect: 'Allow', Action: 'logs:CreateLogGroup', Resource: [LOGS, `${LOGS}:*`] },
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams'], Resource: `${LOGS}:*` },
      { Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: `${LOGS}:log-stream:dlplatform-training-*` },
      {
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
      },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: DATA, Condition: { StringLike: { 's3:prefix': [runData] } } },
    ]);
  });

  test("no role of the stack has a managed policy or a wildcard action outside BucketDeployment's own grants", () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      if (id.startsWith('SampleData')) continue;
      const actions = (policy.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => [s.Action].flat());
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    }
  });

  test("the handlers may manage only this platform's jobs, pass only the execution role, and only with isolation and the key", () => {
    expect(statementsOf('TrainingJobOnEventRole')).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: expect.stringMatching(/:log-group:TrainingJobHandlerLogs\w+:\*$/),
      },
      {
        Effect: 'Allow',
        Action: 'sagemaker:CreateTrainingJob',
        Resource: 'arn:aws:sagemaker:eu-west-1:123456789012:training-job/dlplatform-training-*',
        Condition: {
          Bool: { 'sagemaker:NetworkIsolation': 'true' },
          ArnEquals: { 'sagemaker:OutputKmsKeyArn': KEY_ARN, 'sagemaker:VolumeKmsKeyArn': KEY_ARN },
        },
      },
      {
        Effect: 'Allow',
        Action: ['sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'],
        Resource: 'arn:aws:sagemaker:eu-west-1:123456789012:training-job/dlplatform-training-*',
      },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: expect.stringMatching(/:role\/TrainingJobExecutionRole/),
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
    expect(statementsOf('TrainingJobIsCompleteRole').map((s) => s.Action)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      'sagemaker:DescribeTrainingJob',
    ]);
  });

  test('trains by default on one ml.p3.2xlarge with managed spot, MaxRuntime, MaxWait and S3 checkpoints', () => {
    expect(request.ResourceConfig).toEqual({
      InstanceType: 'ml.p3.2xlarge',
      InstanceCount: 1,
      VolumeSizeInGB: 30,
      VolumeKmsKeyId: KEY_ARN,
    });
    expect(request.EnableManagedSpotTraining).toBe(true);
    expect(request.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 5400 });
    expect(request.CheckpointConfig).toEqual({
      S3Uri: `s3://dlplatform-data-modelbucket/checkpoints/${jobName}/`,
      LocalPath: '/opt/ml/checkpoints',
    });
  });

  test('isolates the container from the network and encrypts the artifacts and the volume with the platform key', () => {
    expect(request.EnableNetworkIsolation).toBe(true);
    expect(request.EnableInterContainerTrafficEncryption).toBe(false);
    expect(request.OutputDataConfig).toEqual({ S3OutputPath: 's3://dlplatform-data-modelbucket/models/', KmsKeyId: KEY_ARN });
    expect(request.ResourceConfig.VolumeKmsKeyId).toBe(KEY_ARN);
    expect(request.VpcConfig).toBeUndefined();
  });

  test('reads its metric definitions from training-image/metric-definitions.json; the registry, not the job, gates', () => {
    const definitions = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'training-image', 'metric-definitions.json'), 'utf8'));
    // SageMaker's MetricDefinition is Name and Regex; the file's other members are the platform's (Direction, ...).
    expect(request.AlgorithmSpecification.MetricDefinitions).toEqual(
      definitions.map((d: { Name: string; Regex: string }) => ({ Name: d.Name, Regex: d.Regex })),
    );
    // A model below the bar must reach the registry (as Rejected), so the training job itself does not gate.
    for (const job of Object.values(jobs)) expect(job.Properties.QualityGate).toBeUndefined();
    const [registration] = Object.values(template.findResources('Custom::ModelRegistration'));
    expect(JSON.parse(registration.Properties.QualityGate)).toEqual({
      metric: 'test_accuracy',
      bar: 0.95,
      maxRegression: 0.01,
      schemaChange: 'refuse',
    });
  });

  test('names the job <stack>-<16 hex digits> and exposes it, the artifact key and the attributes', () => {
    expect(jobName).toMatch(/^dlplatform-training-[0-9a-f]{16}$/);
    expect(request.TrainingJobName).toBe(jobName);
    expect(stack.trainingJob.modelArtifactKey).toBe(`models/${jobName}/output/model.tar.gz`);
    expect(stack.functions).toHaveLength(8);
    template.hasOutput('TrainingJobName', { Value: jobName });
    const [finalId] = Object.keys(jobs).filter((id) => jobs[id].Properties.FinalPhase === true);
    template.hasOutput('ModelDataUrl', { Value: { 'Fn::GetAtt': [finalId, 'ModelDataUrl'] } });
    template.hasOutput('TestAccuracy', { Value: { 'Fn::GetAtt': [finalId, 'Metric.test_accuracy'] } });
    expect(stack.resolve(stack.trainingJob.modelDataUrl)).toEqual({ 'Fn::GetAtt': [finalId, 'ModelDataUrl'] });
  });

  test("waits up to 2 hours as a chain of custom resources, each within CloudFormation's 1-hour limit", () => {
    const chain = Object.entries(jobs).map(([id, r]) => ({ id, ...r.Properties, DependsOn: r.DependsOn ?? [] }));
    expect(chain.map((r) => [r.Phase, r.WaitSeconds, r.FinalPhase, r.ServiceTimeout])).toEqual([
      ['start', 3300, false, '3420'],
      ['wait', 3300, false, '3420'],
      ['wait', 600, true, '3420'],
    ]);
    expect(chain[1].DependsOn).toContain(chain[0].id);
    expect(chain[2].DependsOn).toContain(chain[1].id);
    for (const r of chain.slice(1)) expect(r.CreateTrainingJobRequest).toBeUndefined();
    // The waiter polls every 30 s; its own limit sits above each phase's wait and under CloudFormation's.
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    const [training] = Object.keys(machines).filter((id) => id.startsWith('TrainingJob'));
    const definition = JSON.parse(evaluate(machines[training].Properties.DefinitionString) as string);
    expect(definition.States['framework-isComplete-task'].Retry).toEqual([
      { ErrorEquals: ['States.ALL'], IntervalSeconds: 30, MaxAttempts: 112, BackoffRate: 1 },
    ]);
  });

  test('the handlers are arm64 Node.js 24 functions with JSON logs in encrypted log groups with retention', () => {
    for (const handler of ['index.onEvent', 'index.isComplete']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: handler,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: Match.objectLike({ LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^TrainingJobHandlerLogs') } }),
      });
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties).toEqual({ RetentionInDays: 90, KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'] } });
    }
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: Match.objectLike({ Level: 'ALL' }) });
  });

  test("prepares the user's own S3 prefix when dataSourceUri is set, with no upload", () => {
    const own = Template.fromStack(buildTestPlatform({ dataSourceUri: 's3://my-datasets/digits/2024' }).platform.training);
    own.resourceCountIs('Custom::CDKBucketDeployment', 0);
    const start = Object.values(
      own.findResources('Custom::SageMakerProcessingJob', {
        Properties: { Phase: 'start', ProcessingJobName: Match.stringLikeRegexp('-prepare-') },
      }),
    )[0];
    const ownRequest = JSON.parse(evaluate(start.Properties.CreateProcessingJobRequest) as string);
    // A folder (no .csv ending) is read as one, so digits/2024-old/ is not part of it.
    expect(ownRequest.ProcessingInputs[0].S3Input.S3Uri).toBe('s3://my-datasets/digits/2024/');
    const policies = Object.values(own.findResources('AWS::IAM::Policy')).flatMap(
      (p) => evaluate(p.Properties.PolicyDocument.Statement) as Statement[],
    );
    expect(policies).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::my-datasets/digits/2024/*' },
        {
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: 'arn:aws:s3:::my-datasets',
          Condition: { StringLike: { 's3:prefix': ['digits/2024/*'] } },
        },
      ]),
    );
  });

  test('matches the snapshot', () => {
    expect(stableTemplate(stack)).toMatchSnapshot();
  });
});
