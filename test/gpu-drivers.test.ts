/**
 * The GPU driver matrix: every GPU family allowed for training or hosting, its GPU, the NVIDIA driver its hosts
 * run and how that driver runs the image's CUDA 12.8 (defect 2: GPU endpoints ran SageMaker's default driver 470 /
 * CUDA 11.4 and never passed /ping). The InferenceAmiVersion table is checked against CloudFormation's enum
 * (cfn-lint's schema) and the ProductionVariant API reference (botocore's model); the image's CUDA against its
 * torch build in training-image/tests/test_gpu_matrix.py and its compat package in test_cuda_compat.py.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { gpuDriverMatrix, GpuDriverRow, gpuDriverTable, inferenceAmiTable } from '../constructs/gpu-driver-matrix';
import { compareDriverVersions, CudaDriverNeed, driverRoute, IMAGE_DRIVER_NEED } from '../constructs/gpu-drivers';
import { hasGpu, HOSTING_INSTANCE_TYPES, TRAINING_INSTANCE_TYPES } from '../constructs/instance-types';
import { hostingDriverProblem, RULE_SOURCES } from '../constructs/sagemaker-rules';
import { DEFAULT_HOSTING_DRIVERS, defaultInferenceAmi, hostingDrivers, INFERENCE_AMIS } from '../constructs/serving/inference-ami';
import { loadServiceModel } from '../local/api-model/service-model';
import { withCurrentGpuTables } from '../scripts/gpu-table';
import { configError } from './support/config-error';
import { buildTestPlatform } from './support/platform';
import { buildServing } from './support/serving';

const ROOT = path.join(__dirname, '..');
const n = <T>(name: string, value: T) => ({ name, value });

/** CloudFormation's InferenceAmiVersion enum, from cfn-lint's AWS::SageMaker::EndpointConfig schema in the venv. */
function cloudFormationAmiVersions(): string[] {
  const lib = path.join(ROOT, '.venv', 'lib');
  const python = fs.readdirSync(lib).find((d) => d.startsWith('python'));
  const schemas = path.join(lib, python!, 'site-packages', 'cfnlint', 'data', 'schemas');
  const index = JSON.parse(fs.readFileSync(path.join(schemas, 'providers', 'us-east-1.json'), 'utf8'));
  const schema = JSON.parse(fs.readFileSync(path.join(schemas, 'resources', `${index['AWS::SageMaker::EndpointConfig']}.json`), 'utf8'));
  return schema.definitions.ProductionVariant.properties.InferenceAmiVersion.enum;
}

/** The ProductionVariant API reference's text per AMI (botocore's model carries the documentation). */
function apiReferenceAmis(): Map<string, string> {
  const model = loadServiceModel('sagemaker');
  const doc =
    (model.shapes.ProductionVariant.members as Record<string, { documentation?: string }>).InferenceAmiVersion.documentation ?? '';
  return new Map(
    [...doc.matchAll(/<dt>([^<]+)<\/dt>\s*<dd>(.*?)<\/dd>/gs)].map((m) => [
      m[1].trim(),
      m[2].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '),
    ]),
  );
}

describe('InferenceAmiVersion table', () => {
  test('holds every value CloudFormation and the SageMaker API accept, and no other', () => {
    const ours = INFERENCE_AMIS.map((a) => a.version).sort();
    expect(ours).toEqual([...cloudFormationAmiVersions()].sort());
    expect(ours).toEqual([...loadServiceModel('sagemaker').shapes.ProductionVariantInferenceAmiVersion.enum!].sort());
  });

  test("each AMI's accelerator, NVIDIA driver, CUDA and container toolkit setting are the API reference's", () => {
    const reference = apiReferenceAmis();
    for (const ami of INFERENCE_AMIS) {
      const text = reference.get(ami.version);
      expect({ version: ami.version, text: text !== undefined }).toEqual({ version: ami.version, text: true });
      if (ami.accelerator === 'nvidia') {
        expect(text).toContain('Accelerator: GPU');
        expect(text).toContain(`NVIDIA driver version: ${ami.driver}`);
        expect(text).toContain(`CUDA version: ${ami.cuda}`);
      } else {
        expect(text).toContain('Inferentia2 and Trainium');
        expect(ami.driver).toBeUndefined();
      }
      expect(text!.includes('disabled CUDA-compat mounting')).toBe(!ami.toolkitCompatMounting && ami.accelerator === 'nvidia');
    }
  });
});

describe('GPU driver matrix', () => {
  const rows = gpuDriverMatrix();

  test('has a row for every GPU family allowed for training and for hosting, with its GPU', () => {
    const families = (types: readonly string[]) => [...new Set(types.filter(hasGpu).map((t) => t.split('.')[1]))].sort();
    expect(
      rows
        .filter((r) => r.role === 'training')
        .map((r) => r.family)
        .sort(),
    ).toEqual(families(TRAINING_INSTANCE_TYPES));
    expect(
      rows
        .filter((r) => r.role === 'hosting')
        .map((r) => r.family)
        .sort(),
    ).toEqual(families(HOSTING_INSTANCE_TYPES));
    expect(rows.filter((r) => r.gpu === undefined)).toEqual([]);
  });

  test('every allowed GPU hosting family gets an InferenceAmiVersion whose driver runs the image (p3, g4dn, g5: 535 with cuda-compat-12-8)', () => {
    const hosting = rows.filter((r) => r.role === 'hosting');
    expect(hosting.filter((r) => r.route === undefined)).toEqual([]);
    for (const family of ['p3', 'g4dn', 'g5']) {
      expect(hosting.find((r) => r.family === family)).toMatchObject<Partial<GpuDriverRow>>({
        driver: '535 (CUDA 12.2) by InferenceAmiVersion al2-ami-sagemaker-inference-gpu-2-1',
        route: 'forward-compat',
        imageCuda: '12.8',
      });
    }
  });

  test("SageMaker's default hosting driver for these families is 470 / CUDA 11.4, which is why an AMI is always pinned", () => {
    for (const family of ['p3', 'g4dn', 'g5']) {
      expect(DEFAULT_HOSTING_DRIVERS.find((d) => d.families.includes(family))).toMatchObject({ driver: '470', cuda: '11.4' });
    }
  });

  test('training rows take the forward-compat route: the driver is read at start', () => {
    expect(rows.filter((r) => r.role === 'training').every((r) => r.route === 'native or forward-compat' && r.imageCuda === '12.8')).toBe(
      true,
    );
  });

  test.each([
    ['580', 'native'],
    ['570.26', 'native'],
    ['570.86.15', 'native'],
    ['550', 'forward-compat'],
    ['535.54.03', 'forward-compat'],
    ['470', 'forward-compat'],
    ['525.60.13', undefined],
    ['418', undefined],
  ])('a host on driver %s runs the image: %s', (driver, route) => {
    expect(driverRoute(driver)).toBe(route);
  });

  test('driver versions order part by part', () => {
    expect(compareDriverVersions('535', '535.54.03')).toBe(-1);
    expect(compareDriverVersions('570.211.01', '570.26')).toBe(1);
    expect(compareDriverVersions('550.54.15', '550.54.15')).toBe(0);
  });

  test('docs/gpu.md shows the current AMI table and matrix (npm run docs:gpu)', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'gpu.md'), 'utf8');
    expect(doc).toBe(withCurrentGpuTables(doc));
    expect(doc).toContain(gpuDriverTable(rows));
    expect(doc).toContain(inferenceAmiTable());
  });
});

describe('choosing the AMI', () => {
  test('prefers an AMI that leaves forward compatibility to the image, then the newest driver; a CUDA 13 AMI never runs a CUDA 12 image', () => {
    expect(hostingDrivers('g5').map((d) => d.ami.version)).toEqual([
      'al2-ami-sagemaker-inference-gpu-2-1',
      'al2-ami-sagemaker-inference-gpu-2',
    ]);
    expect(defaultInferenceAmi('p5e')?.version).toBe('al2-ami-sagemaker-inference-gpu-3-1');
    expect(defaultInferenceAmi('m5')).toBeUndefined();
  });

  test('prefers a driver that runs the image natively', () => {
    // CUDA 12.1 runs natively from driver 530.30.02: the 535 AMIs run it themselves.
    const cuda121: CudaDriverNeed = { ...IMAGE_DRIVER_NEED, cuda: '12.1', nativeMinimumDriver: '530.30.02' };
    expect(hostingDrivers('g5', cuda121).map((d) => [d.ami.version, d.route])).toEqual([
      ['al2-ami-sagemaker-inference-gpu-2-1', 'native'],
      ['al2-ami-sagemaker-inference-gpu-2', 'native'],
    ]);
  });
});

describe('synth refuses what cannot run', () => {
  test('a GPU serving type no AMI runs the image on is refused, naming the setting and the families that work', () => {
    const cuda13: CudaDriverNeed = {
      ...IMAGE_DRIVER_NEED,
      cuda: '13.0',
      nativeMinimumDriver: '580.65.06',
      compatPackage: 'cuda-compat-13-0',
      compatBranches: [535, 550, 570],
    };
    expect(
      hostingDriverProblem({
        instanceType: n('servingInstanceType', 'ml.g5.xlarge'),
        amiVersion: n('servingInferenceAmiVersion', undefined),
        choices: HOSTING_INSTANCE_TYPES,
        need: cuda13,
      }),
    ).toEqual({
      setting: 'servingInstanceType',
      value: 'ml.g5.xlarge',
      allowed:
        "a type with an InferenceAmiVersion whose NVIDIA driver runs the image's CUDA 13.0 (driver 580.65.06 on, or cuda-compat-13-0 on the 535, 550, 570 branches); " +
        'AWS lists none for g5: a CPU type',
      source: RULE_SOURCES.hostingDriver,
    });
  });

  test('an InferenceAmiVersion whose driver cannot run the image on the serving type is refused with the ones that can', () => {
    expect(configError({ servingInstanceType: 'ml.g5.xlarge', servingInferenceAmiVersion: 'al2023-ami-sagemaker-inference-gpu-4-1' })).toBe(
      'Invalid setting "servingInferenceAmiVersion": "al2023-ami-sagemaker-inference-gpu-4-1"; allowed: an InferenceAmiVersion whose NVIDIA driver ' +
        "runs the image's CUDA 12.8 (driver 570.26 on, or cuda-compat-12-8 on the 470, 535, 550 branches) on ml.g5.xlarge, not " +
        'al2023-ami-sagemaker-inference-gpu-4-1 (AWS lists no g5 instances for it): al2-ami-sagemaker-inference-gpu-2-1, al2-ami-sagemaker-inference-gpu-2 ' +
        `(see ${RULE_SOURCES.hostingDriver})`,
    );
    expect(
      configError({ servingInstanceType: 'ml.g5.xlarge', servingInferenceAmiVersion: 'al2-ami-sagemaker-inference-neuron-2' }),
    ).toContain('(no NVIDIA driver)');
    expect(
      configError({ servingInstanceType: 'ml.g4dn.xlarge', servingInferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-3-1' }),
    ).toContain('(AWS lists no g4dn instances for it)');
  });

  test('a CPU endpoint takes no InferenceAmiVersion', () => {
    expect(configError({ servingInferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-2-1' })).toBe(
      'Invalid setting "servingInferenceAmiVersion": "al2-ami-sagemaker-inference-gpu-2-1"; allowed: unset while servingInstanceType=ml.m5.large, ' +
        `which has no GPU (the InferenceAmiVersion values pick a GPU or Neuron driver) (see ${RULE_SOURCES.hostingDriver})`,
    );
  });

  test('a value outside the enum is refused with the enum', () => {
    expect(configError({ servingInstanceType: 'ml.g5.xlarge', servingInferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-9' })).toContain(
      'Invalid setting "servingInferenceAmiVersion": "al2-ami-sagemaker-inference-gpu-9"; allowed: al2-ami-sagemaker-inference-gpu-2, al2-ami-sagemaker-inference-gpu-2-1,',
    );
  });
});

describe('the synthesized endpoint', () => {
  test('a GPU endpoint pins the InferenceAmiVersion whose driver runs the image (old code: none, so driver 470)', () => {
    const { serving } = buildServing({ servingInstanceType: 'ml.g5.12xlarge', servingMinCapacity: 1, servingMaxCapacity: 1 });
    const [config] = Object.values(Template.fromStack(serving).findResources('AWS::SageMaker::EndpointConfig'));
    expect(config.Properties.ProductionVariants).toEqual([
      expect.objectContaining({
        InstanceType: 'ml.g5.12xlarge',
        InferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-2-1',
      }),
    ]);
    expect(serving.inference.inferenceAmiVersion).toBe('al2-ami-sagemaker-inference-gpu-2-1');
  });

  test('cfn-lint accepts the GPU serving template with its InferenceAmiVersion', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-gpu-'));
    try {
      const { app, platform } = buildTestPlatform({ servingInstanceType: 'ml.g5.12xlarge', servingWorkers: 8 }, outdir);
      app.synth();
      const template = path.join(outdir, `${platform.serving.artifactId}.template.json`);
      expect(JSON.stringify(JSON.parse(fs.readFileSync(template, 'utf8')))).toContain(
        '"InferenceAmiVersion":"al2-ami-sagemaker-inference-gpu-2-1"',
      );
      let output = '';
      try {
        output = execFileSync(
          path.join(ROOT, '.venv', 'bin', 'cfn-lint'),
          ['--config-file', path.join(ROOT, '.cfnlintrc'), '--format', 'parseable', '--', template],
          { encoding: 'utf8' },
        );
      } catch (e) {
        output = (e as { stdout?: string }).stdout ?? String(e);
      }
      expect(output.trim()).toBe('');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('servingInferenceAmiVersion chooses another AMI that runs the image', () => {
    const { serving } = buildServing({
      servingInstanceType: 'ml.p3.2xlarge',
      servingInferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-2',
    });
    const [config] = Object.values(Template.fromStack(serving).findResources('AWS::SageMaker::EndpointConfig'));
    expect(config.Properties.ProductionVariants[0].InferenceAmiVersion).toBe('al2-ami-sagemaker-inference-gpu-2');
  });

  test('a CPU endpoint sets none', () => {
    const { serving } = buildServing();
    const [config] = Object.values(Template.fromStack(serving).findResources('AWS::SageMaker::EndpointConfig'));
    expect(config.Properties.ProductionVariants[0].InferenceAmiVersion).toBeUndefined();
  });
});

describe('model server workers (defect 7)', () => {
  test('servingWorkers reaches the model container as MODEL_SERVER_WORKERS, beside the model package', () => {
    const { serving } = buildServing({ servingInstanceType: 'ml.g5.12xlarge', servingWorkers: 8 });
    const [model] = Object.values(Template.fromStack(serving).findResources('AWS::SageMaker::Model'));
    expect(model.Properties.PrimaryContainer).toEqual({
      ModelPackageName: { Ref: 'ServedModelPackage' },
      Environment: { MODEL_SERVER_WORKERS: '8' },
    });
  });

  test('unset, the container decides (one worker per GPU, each on its own; one per vCPU on CPU types)', () => {
    const { serving, config } = buildServing({ servingInstanceType: 'ml.g5.12xlarge' });
    expect(config.servingWorkers).toBeUndefined();
    const [model] = Object.values(Template.fromStack(serving).findResources('AWS::SageMaker::Model'));
    expect(model.Properties.PrimaryContainer.Environment).toBeUndefined();
  });

  test('a worker count outside what the model server takes is refused', () => {
    expect(configError({ servingWorkers: 0 })).toBe('Invalid setting "servingWorkers": 0; allowed: a whole number from 1 to 256');
  });
});
