/**
 * What the training image's CUDA needs of a host's NVIDIA driver, and whether a given driver meets it:
 * natively (the driver is at least the one CUDA ships with) or through the CUDA forward-compatibility package
 * the image carries, which its entry point switches on at start (training-image/src/dlplatform/cuda_compat.py).
 * Read from training-image/gpu-architectures.json, which the image carries too.
 */
import gpuMatrix from '../training-image/gpu-architectures.json';

/** The driver need of a CUDA build. */
export interface CudaDriverNeed {
  /** The CUDA the image's PyTorch was built with, e.g. `12.8` (`torch.version.cuda`). */
  readonly cuda: string;
  /** The driver from which that CUDA runs without help, e.g. `570.26` (NVIDIA's CUDA release notes). */
  readonly nativeMinimumDriver: string;
  /** The forward-compatibility package in the image, e.g. `cuda-compat-12-8`. */
  readonly compatPackage: string;
  /** The driver the package's libraries come from, e.g. `570.211.01`. */
  readonly compatDriver: string;
  /** Older driver branches the package runs on, e.g. 470, 535, 550. */
  readonly compatBranches: readonly number[];
}

const compat = gpuMatrix.cudaDriver.forwardCompat;

/** The training image's driver need (training-image/tests/test_cuda_compat.py keeps the Dockerfile to it). */
export const IMAGE_DRIVER_NEED: CudaDriverNeed = {
  cuda: gpuMatrix.torchBuild.cuda,
  nativeMinimumDriver: gpuMatrix.cudaDriver.nativeMinimumDriver,
  compatPackage: compat.package,
  compatDriver: compat.packageVersion.split('-')[0],
  compatBranches: compat.hostDriverBranches,
};

/** Where the need comes from: NVIDIA's pages, as gpu-architectures.json records them. */
export const DRIVER_NEED_SOURCES = {
  native: gpuMatrix.cudaDriver.nativeSource,
  forwardCompat: compat.source,
} as const;

/** Orders driver versions part by part: `535` < `535.54.03` < `570.26` (a bare branch is its lowest release). */
export function compareDriverVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** How a driver runs the image's CUDA: itself, or through the forward-compatibility package. */
export type DriverRoute = 'native' | 'forward-compat';

/**
 * How a host on `driver` (a version, or a bare branch such as `535`) runs `need`'s CUDA, or undefined when it
 * cannot: natively from the CUDA's own driver on; older, only on a branch the image's cuda-compat package
 * supports (NVIDIA: https://docs.nvidia.com/deploy/cuda-compatibility/forward-compatibility.html).
 */
export function driverRoute(driver: string, need: CudaDriverNeed = IMAGE_DRIVER_NEED): DriverRoute | undefined {
  if (compareDriverVersions(driver, need.nativeMinimumDriver) >= 0) return 'native';
  return need.compatBranches.includes(Number(driver.split('.')[0])) ? 'forward-compat' : undefined;
}

/** The major version of a CUDA version: `12.8` -> 12. */
export function cudaMajor(cuda: string): number {
  return Number(cuda.split('.')[0]);
}
