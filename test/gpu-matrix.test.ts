/**
 * The GPU matrix at synth: every allowed GPU instance type has its GPU architecture recorded, the training
 * image's PyTorch build runs on each, and a type whose GPU the build cannot run is refused with the setting,
 * the GPU and what is allowed. training-image/tests/test_gpu_matrix.py checks the same record against torch.
 */
import {
  archRunsOn,
  gpuArchitecture,
  hasGpu,
  HOSTING_INSTANCE_TYPES,
  IMAGE_TORCH_BUILD,
  imageSupportsInstanceType,
  TorchBuild,
  TRAINING_INSTANCE_TYPES,
} from '../constructs/instance-types';
import { loadConfig } from '../lib/config';
import { configError } from './support/config-error';

const ALLOWED = [...new Set([...TRAINING_INSTANCE_TYPES, ...HOSTING_INSTANCE_TYPES])];

/** What defect 2 shipped: torch 2.15.0+cu132, built from sm_75 up (CUDA 13 has no Volta). */
const CUDA_13_BUILD: TorchBuild = { torch: '2.15.0', cuda: '13.2', archList: ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120'] };

describe('GPU matrix', () => {
  test('every GPU instance type allowed for training or hosting has its GPU architecture recorded', () => {
    const gpuTypes = ALLOWED.filter(hasGpu);
    expect(gpuTypes).toContain('ml.p3.2xlarge');
    expect(gpuTypes.filter((t) => gpuArchitecture(t) === undefined)).toEqual([]);
    expect(ALLOWED.filter((t) => !hasGpu(t) && gpuArchitecture(t) !== undefined)).toEqual([]);
    expect(gpuArchitecture('ml.p3.2xlarge')).toEqual({ family: 'p3', gpu: 'NVIDIA V100', computeCapability: '7.0', arch: 'sm_70' });
    expect(gpuArchitecture('ml.g6.xlarge')?.arch).toBe('sm_89');
  });

  test("the image's recorded PyTorch build runs on every allowed GPU type, the default ml.p3.2xlarge included", () => {
    expect(IMAGE_TORCH_BUILD.archList).toContain('sm_70');
    expect(ALLOWED.filter((t) => !imageSupportsInstanceType(t))).toEqual([]);
    expect(() => loadConfig({})).not.toThrow();
  });

  test.each([
    ['sm_70', '7.0', true],
    ['sm_70', '7.5', true],
    ['sm_75', '7.0', false],
    ['sm_86', '8.9', true],
    ['sm_86', '9.0', false],
    ['sm_120', '12.0', true],
    ['compute_80', '9.0', true],
    ['compute_80', '7.5', false],
    ['sm_90a', '9.0', true],
    ['sm_90a', '9.1', false],
    ['sm_100f', '10.3', true],
    ['sm_100f', '12.0', false],
    ['not-an-arch', '7.0', false],
  ])('CUDA compatibility: code for %s runs on compute capability %s: %s', (arch, capability, runs) => {
    expect(archRunsOn(arch, capability)).toBe(runs);
  });

  test('refuses the default ml.p3.2xlarge when the build has no sm_70 (defect 2: torch 2.15.0+cu132)', () => {
    expect(imageSupportsInstanceType('ml.p3.2xlarge', CUDA_13_BUILD)).toBe(false);
    expect(configError({}, CUDA_13_BUILD)).toBe(
      'Invalid setting "trainingInstanceType": "ml.p3.2xlarge"; allowed: a type whose GPU the training image can run ' +
        "(ml.p3.2xlarge has NVIDIA V100 GPUs (sm_70) and the image's PyTorch 2.15.0 (CUDA 13.2) is built for " +
        'sm_75, sm_80, sm_86, sm_90, sm_100, sm_120): a CPU type or the p4d (NVIDIA A100), p4de (NVIDIA A100), ' +
        'p5 (NVIDIA H100), g4dn (NVIDIA T4), g5 (NVIDIA A10G), g6 (NVIDIA L4) families',
    );
  });

  test('refuses a GPU serving type the build cannot run, listing the hosting families it can', () => {
    const ampereOnly: TorchBuild = { torch: '9.9.9', cuda: '99.0', archList: ['sm_80'] };
    const message = configError({ trainingInstanceType: 'ml.g5.xlarge', servingInstanceType: 'ml.g4dn.xlarge' }, ampereOnly);
    expect(message).toBe(
      'Invalid setting "servingInstanceType": "ml.g4dn.xlarge"; allowed: a type whose GPU the training image can run ' +
        "(ml.g4dn.xlarge has NVIDIA T4 GPUs (sm_75) and the image's PyTorch 9.9.9 (CUDA 99.0) is built for sm_80): " +
        'a CPU type or the g5 (NVIDIA A10G) families',
    );
  });

  test('accepts CPU types whatever the build; refuses GPU types a build without GPU code or the matrix lacks', () => {
    const noGpu: TorchBuild = { torch: '9.9.9', cuda: '99.0', archList: [] };
    expect(() => loadConfig({ trainingInstanceType: 'ml.m5.xlarge', servingInstanceType: 'ml.m5.large' }, noGpu)).not.toThrow();
    expect(configError({ trainingInstanceType: 'ml.m5.xlarge', servingInstanceType: 'ml.g5.xlarge' }, noGpu)).toBe(
      'Invalid setting "servingInstanceType": "ml.g5.xlarge"; allowed: a type whose GPU the training image can run ' +
        "(ml.g5.xlarge has NVIDIA A10G GPUs (sm_86) and the image's PyTorch 9.9.9 (CUDA 99.0) is built for no GPU architecture): a CPU type",
    );
    expect(imageSupportsInstanceType('ml.g6e.xlarge')).toBe(false);
  });
});
