/**
 * What `evaluate` writes in its evaluation folder when it was given the approved model (training-image
 * evaluate/job.py, comparison.py): comparison.json says whether both models solve the same problem and, when they
 * do, names the approved model's evaluation on the same test rows. Read here for the deploy's gate (from S3) and
 * local mode's (from disk), so both build the same baseline. test/image-contract.test.ts holds these names to the
 * Python's.
 */
import { evaluationMetrics } from './metric-definitions';

/** The candidate's evaluation report. */
export const EVALUATION_JSON = 'evaluation.json';
/** comparison.py's COMPARISON_JSON. */
export const COMPARISON_JSON = 'comparison.json';
/** comparison.py's APPROVED_DIR: the approved model's evaluation.json on the same rows lies under it. */
export const APPROVED_DIR = 'approved';

/** What `evaluate` writes to comparison.json. */
interface ComparisonFile {
  readonly same_problem: boolean;
  readonly differences: string[];
  readonly approved_evaluation: string | null;
}

export interface ModelComparison {
  /** How the candidate's problem differs from the approved model's; empty: the same problem. */
  readonly differences: string[];
  /** Both models' metrics on the candidate's test rows (absent for a different problem). */
  readonly sameRows?: { readonly candidate: Record<string, number>; readonly approved: Record<string, number> };
}

/**
 * The comparison in an evaluation folder, read through `read` (a file's text by its path in the folder, undefined
 * when absent); undefined when the folder holds no comparison.json (no approved model was scored).
 * @throws when a file is not what `evaluate` writes, naming it
 */
export async function readComparison(
  read: (file: string) => Promise<string | undefined>,
  where: string,
): Promise<ModelComparison | undefined> {
  const text = await read(COMPARISON_JSON);
  if (text === undefined) return undefined;
  const comparison = parse(text, `${where}${COMPARISON_JSON}`) as Partial<ComparisonFile>;
  if (typeof comparison.same_problem !== 'boolean' || !Array.isArray(comparison.differences)) {
    throw new Error(`${where}${COMPARISON_JSON} is not what evaluate writes: it lacks same_problem or differences`);
  }
  const differences = comparison.differences.map(String);
  if (!comparison.same_problem) return { differences: differences.length > 0 ? differences : ['a different problem'] };
  const approvedFile = comparison.approved_evaluation ?? `${APPROVED_DIR}/${EVALUATION_JSON}`;
  if (approvedFile.split('/').includes('..')) throw new Error(`${where}${COMPARISON_JSON} names ${approvedFile}, outside its folder`);
  const metricsOf = async (file: string) => {
    const body = await read(file);
    if (body === undefined) throw new Error(`${where}${file} is missing: comparison.json says both models were scored`);
    try {
      return evaluationMetrics(parse(body, `${where}${file}`));
    } catch (e) {
      throw new Error(`${where}${file}: ${(e as Error).message}`);
    }
  };
  return { differences: [], sameRows: { candidate: await metricsOf(EVALUATION_JSON), approved: await metricsOf(approvedFile) } };
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not JSON (${(e as Error).message})`);
  }
}
