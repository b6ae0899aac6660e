/**
 * The quality gate: a model passes when its evaluation reaches the absolute bar and does not regress beyond a
 * tolerance against the model currently approved in the registry. Pure, so the rule reads in one place: the
 * deploy's registration handler and local mode both apply it. Which metrics are better lower is
 * metric-definitions.json's `Direction`.
 */
import { LOWER_IS_BETTER } from './metric-definitions';

export interface GateSettings {
  /** The metric compared, as named in training-image/metric-definitions.json (e.g. `test_accuracy`). */
  readonly metric: string;
  /** The absolute bar (a minimum, or a maximum for metrics where lower is better). */
  readonly bar: number;
  /** How far the metric may fall behind the approved model's before the new model is rejected. */
  readonly maxRegression: number;
  /**
   * A candidate of a different problem from the approved model's (see {@link Baseline.differences}): refuse it
   * (Rejected, saying why and what to do) or accept it on the bar alone, replacing the approved model.
   * @default 'refuse'
   */
  readonly schemaChange?: 'refuse' | 'accept';
}

/** The model the new one is compared with: the newest approved version in the registry. */
export interface Baseline {
  /** How the version is named in messages, e.g. `version 3 (dlplatform-training-0123abcd)`. */
  readonly name: string;
  /**
   * The approved model's metrics: measured on the candidate's test rows when {@link sameData} is true (like with
   * like), else its own registered evaluation.
   */
  readonly metrics: Record<string, number>;
  /**
   * Whether {@link metrics} were measured on the candidate's test rows.
   * @default false
   */
  readonly sameData?: boolean;
  /**
   * How the candidate's problem differs from the approved model's (input columns, their kinds, the label set),
   * in words: a different problem is never compared, so never a regression.
   * @default [] - the same problem
   */
  readonly differences?: readonly string[];
  /**
   * Why {@link metrics} are the approved model's registered figures, not its figures on the candidate's rows (said in
   * the reason: those figures came from other test rows).
   * @default - not said
   */
  readonly unscoredBecause?: string;
}

export interface GateResult {
  readonly passed: boolean;
  /** One sentence with both figures, for the registry record and the deploy error. */
  readonly reason: string;
}

const shown = (n: number) => String(Number(n.toFixed(6)));

export function applyQualityGate(metrics: Record<string, number>, settings: GateSettings, baseline?: Baseline): GateResult {
  const value = metrics[settings.metric];
  if (value === undefined) {
    return { passed: false, reason: `the evaluation has no ${settings.metric}; it has ${Object.keys(metrics).join(', ') || 'no metric'}` };
  }
  const lower = LOWER_IS_BETTER.has(settings.metric);
  if (lower ? value > settings.bar : value < settings.bar) {
    return {
      passed: false,
      reason: `${settings.metric} ${shown(value)} is ${lower ? 'above the maximum' : 'below the minimum'} ${shown(settings.bar)}`,
    };
  }
  if (baseline?.differences?.length) {
    const what = `a different problem from the approved model ${baseline.name} (${baseline.differences.join('; ')})`;
    if (settings.schemaChange !== 'accept') {
      return {
        passed: false,
        reason:
          `${what}: not compared and not a regression; train it into a new model group (locally: another --work-dir), ` +
          'or set qualityGateSchemaChange=accept to let it replace the approved model when it meets the bar',
      };
    }
    return {
      passed: true,
      reason: `${settings.metric} ${shown(value)} meets the bar ${shown(settings.bar)}; ${what}, accepted by qualityGateSchemaChange=accept: judged on the bar alone`,
    };
  }
  const previous = baseline?.metrics[settings.metric];
  const on = baseline?.sameData
    ? ' on the same test rows'
    : baseline?.unscoredBecause
      ? `, as registered: ${baseline.unscoredBecause}`
      : '';
  if (baseline && previous !== undefined) {
    const regression = lower ? value - previous : previous - value;
    if (regression > settings.maxRegression) {
      return {
        passed: false,
        reason:
          `${settings.metric} ${shown(value)} is ${shown(regression)} ${lower ? 'above' : 'below'} the approved model ${baseline.name} ` +
          `(${shown(previous)}${on}), more than the tolerance ${shown(settings.maxRegression)}`,
      };
    }
    return {
      passed: true,
      reason: `${settings.metric} ${shown(value)} meets the bar ${shown(settings.bar)} and is within ${shown(settings.maxRegression)} of the approved model ${baseline.name} (${shown(previous)}${on})`,
    };
  }
  return {
    passed: true,
    reason: `${settings.metric} ${shown(value)} meets the bar ${shown(settings.bar)}; no approved model to compare with`,
  };
}
