/**
 * The GPU driver matrix, one row per GPU family the platform allows for training or hosting: its GPU and CUDA
 * architecture (gpu-architectures.json), the NVIDIA driver its hosts run, how that driver runs the image's CUDA,
 * and that CUDA. docs/gpu.md shows it (`npm run docs:gpu`); test/gpu-drivers.test.ts checks every row runs.
 */
import { CudaDriverNeed, DRIVER_NEED_SOURCES, DriverRoute, IMAGE_DRIVER_NEED } from './gpu-drivers';
import { GPU_ARCHITECTURES, hasGpu, HOSTING_INSTANCE_TYPES, TRAINING_INSTANCE_TYPES } from './instance-types';
import { DEFAULT_HOSTING_DRIVERS, GPU_DRIVERS_PAGE, hostingDrivers, hostingFamily, INFERENCE_AMIS } from './serving/inference-ami';

/** One family in one role. */
export interface GpuDriverRow {
  readonly role: 'training' | 'hosting';
  readonly family: string;
  /** e.g. `NVIDIA V100 (sm_70)`; undefined when the family is missing from gpu-architectures.json. */
  readonly gpu?: string;
  /** The driver its hosts run: by InferenceAmiVersion for hosting; unpublished for training. */
  readonly driver: string;
  /** How that driver runs the image's CUDA; undefined: it cannot. */
  readonly route?: DriverRoute | 'native or forward-compat';
  /** The CUDA the image needs. */
  readonly imageCuda: string;
  /** The page the driver comes from. */
  readonly source: string;
}

/** The GPU families of `types`, in order. */
function gpuFamilies(types: readonly string[]): string[] {
  return [...new Set(types.filter(hasGpu).map(hostingFamily))];
}

function gpuOf(family: string): string | undefined {
  const gpu = GPU_ARCHITECTURES.get(family);
  return gpu && `${gpu.gpu} (${gpu.arch})`;
}

/** The rows for the allowed training and hosting types (or the given ones). */
export function gpuDriverMatrix(
  need: CudaDriverNeed = IMAGE_DRIVER_NEED,
  training: readonly string[] = TRAINING_INSTANCE_TYPES,
  hosting: readonly string[] = HOSTING_INSTANCE_TYPES,
): GpuDriverRow[] {
  const trainingRows = gpuFamilies(training).map((family): GpuDriverRow => ({
    role: 'training',
    family,
    gpu: gpuOf(family),
    // AWS publishes no driver for training hosts: the image's entry point checks it at start.
    driver: 'not published by AWS: the entry point reads it at start',
    route: 'native or forward-compat',
    imageCuda: need.cuda,
    source: DRIVER_NEED_SOURCES.forwardCompat,
  }));
  const hostingRows = gpuFamilies(hosting).map((family): GpuDriverRow => {
    const [best] = hostingDrivers(family, need);
    const fallback = DEFAULT_HOSTING_DRIVERS.find((d) => d.families.includes(family));
    return {
      role: 'hosting',
      family,
      gpu: gpuOf(family),
      driver: best
        ? `${best.ami.driver} (CUDA ${best.ami.cuda}) by InferenceAmiVersion ${best.ami.version}`
        : `none: no InferenceAmiVersion AWS lists for ${family} runs CUDA ${need.cuda}` +
          (fallback ? ` (without one: ${fallback.driver}, CUDA ${fallback.cuda}, upgraded by AWS over time)` : ''),
      route: best?.route,
      imageCuda: need.cuda,
      source: GPU_DRIVERS_PAGE,
    };
  });
  return [...trainingRows, ...hostingRows];
}

/** The matrix as a markdown table. */
export function gpuDriverTable(rows: readonly GpuDriverRow[] = gpuDriverMatrix()): string {
  const cell = (s: string | undefined) => (s ?? '**missing**').replace(/\|/g, '\\|');
  return [
    '| Role | Family | GPU (architecture) | NVIDIA driver on the host | How it runs the image | Image CUDA |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.role} | ${r.family} | ${cell(r.gpu)} | ${cell(r.driver)} | ${r.route ?? '**cannot**'} | ${r.imageCuda} |`),
  ].join('\n');
}

/** The InferenceAmiVersion table (constructs/serving/inference-ami.ts) as markdown. */
export function inferenceAmiTable(): string {
  return [
    '| InferenceAmiVersion | NVIDIA driver | CUDA | Compat mounting by the container toolkit | Hosting families |',
    '| --- | --- | --- | --- | --- |',
    ...INFERENCE_AMIS.map(
      (a) =>
        `| ${a.version} | ${a.driver ?? '(Neuron)'} | ${a.cuda ?? ''} | ` +
        `${a.accelerator === 'nvidia' ? (a.toolkitCompatMounting ? 'on' : 'off') : ''} | ${a.families?.join(', ') ?? 'not recorded: never chosen'} |`,
    ),
  ].join('\n');
}
