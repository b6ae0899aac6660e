/**
 * How a SageMaker endpoint update moves traffic from the serving fleet (blue) to the new one (green).
 * The alpha L2 Endpoint does not model this yet, so it renders straight to CfnEndpoint's DeploymentConfig.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CfnEndpoint } from 'aws-cdk-lib/aws-sagemaker';

import { check, validateProps } from '../private/validation';
import { RULE_SOURCES } from '../sagemaker-rules';

const TRAFFIC_ROUTING = RULE_SOURCES.trafficRouting;

/** Options common to every traffic-shifting mode. */
export interface TrafficShiftOptions {
  /**
   * How long SageMaker watches the rollback alarms after each traffic shift (the baking period), and
   * keeps the old fleet after the last one so that a late alarm can still roll back.
   * @default Duration.minutes(5)
   */
  readonly bakeTime?: Duration;
}

/** Canary: a small share of capacity takes traffic first; the rest follows after the baking period. */
export interface CanaryOptions extends TrafficShiftOptions {
  /** Percent of the fleet's capacity that takes traffic first; SageMaker allows 1 to 50. */
  readonly canaryPercent: number;
}

/** Linear: traffic moves in equal steps with a baking period after each. */
export interface LinearOptions extends TrafficShiftOptions {
  /** Percent of capacity shifted per step; SageMaker allows 10 to 50. */
  readonly stepPercent: number;
}

/** The blue/green traffic-shifting mode of an endpoint update. Every mode rolls back when an alarm fires. */
export class TrafficShifting {
  /**
   * A canary step, then the rest of the traffic. SageMaker needs at least 2 instances for it (the canary is at
   * most half the fleet); InferenceEndpoint checks its capacity against constructs/sagemaker-rules.ts.
   */
  static canary(options: CanaryOptions): TrafficShifting {
    checkPercent('canaryPercent', options.canaryPercent, 1, 50);
    return new TrafficShifting('CANARY', bake(options), options.canaryPercent, { type: 'CAPACITY_PERCENT', value: options.canaryPercent });
  }

  /** Equal steps of `stepPercent`; like a canary, it needs at least 2 instances. */
  static linear(options: LinearOptions): TrafficShifting {
    checkPercent('stepPercent', options.stepPercent, 10, 50);
    return new TrafficShifting('LINEAR', bake(options), options.stepPercent, undefined, {
      type: 'CAPACITY_PERCENT',
      value: options.stepPercent,
    });
  }

  /** All traffic at once, then a baking period before the old fleet goes away. */
  static allAtOnce(options: TrafficShiftOptions = {}): TrafficShifting {
    return new TrafficShifting('ALL_AT_ONCE', bake(options));
  }

  private constructor(
    /** SageMaker's TrafficRoutingConfig type: CANARY, LINEAR or ALL_AT_ONCE. */
    readonly type: 'CANARY' | 'LINEAR' | 'ALL_AT_ONCE',
    /** The baking period after each shift, in seconds. */
    readonly bakeSeconds: number,
    /** The canary or linear step size, in percent of the fleet's capacity (undefined for all at once). */
    readonly sizePercent?: number,
    private readonly canarySize?: CfnEndpoint.CapacitySizeProperty,
    private readonly linearStepSize?: CfnEndpoint.CapacitySizeProperty,
  ) {}

  /** CfnEndpoint's DeploymentConfig: this traffic shifting, rolled back when any of `rollbackAlarms` fires. */
  renderDeploymentConfig(rollbackAlarms: cloudwatch.IAlarm[]): CfnEndpoint.DeploymentConfigProperty {
    return {
      blueGreenUpdatePolicy: {
        trafficRoutingConfiguration: {
          type: this.type,
          waitIntervalInSeconds: this.bakeSeconds,
          canarySize: this.canarySize,
          linearStepSize: this.linearStepSize,
        },
        terminationWaitInSeconds: this.bakeSeconds,
      },
      autoRollbackConfiguration:
        rollbackAlarms.length > 0 ? { alarms: rollbackAlarms.map((a) => ({ alarmName: a.alarmName })) } : undefined,
    };
  }
}

function bake(options: TrafficShiftOptions): number {
  const seconds = (options.bakeTime ?? Duration.minutes(5)).toSeconds();
  validateProps('TrafficShifting', [
    check(
      'bakeTime',
      `${seconds}s`,
      () => Number.isInteger(seconds) && seconds >= 0 && seconds <= 3600,
      "whole seconds from 0 to 3600 (SageMaker's limit)",
      TRAFFIC_ROUTING,
    ),
  ]);
  return seconds;
}

function checkPercent(name: string, value: number, min: number, max: number): void {
  validateProps('TrafficShifting', [
    check(
      name,
      value,
      (n) => Number.isInteger(n) && n >= min && n <= max,
      `a whole number from ${min} to ${max} (SageMaker's limit)`,
      TRAFFIC_ROUTING,
    ),
  ]);
}

/** The deployment strategies a configuration names. */
export type DeploymentStrategy = 'canary' | 'linear' | 'all-at-once';

/** Settings of {@link trafficShiftingFor}. */
export interface TrafficShiftingSettings extends TrafficShiftOptions {
  /** Canary size in percent (canary only). */
  readonly canaryPercent: number;
  /** Step size in percent (linear only). */
  readonly stepPercent: number;
}

/** The traffic shifting a configuration's strategy name and sizes describe. */
export function trafficShiftingFor(strategy: DeploymentStrategy, settings: TrafficShiftingSettings): TrafficShifting {
  switch (strategy) {
    case 'canary':
      return TrafficShifting.canary(settings);
    case 'linear':
      return TrafficShifting.linear(settings);
    case 'all-at-once':
      return TrafficShifting.allAtOnce(settings);
  }
}
