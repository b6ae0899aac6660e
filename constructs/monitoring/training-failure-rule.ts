import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/** Properties of a {@link TrainingFailureRule}. */
export interface TrainingFailureRuleProps {
  /** Start of the names of this platform's training jobs: failures of other jobs in the account are ignored. */
  readonly jobNamePrefix: string;

  /**
   * Where failure events go.
   * @default - none yet; add them with `rule.addTarget()`
   */
  readonly targets?: events.IRuleTarget[];
}

/**
 * An EventBridge rule that matches SageMaker "Training Job State Change" events with status Failed for
 * this platform's jobs: CloudWatch has no metric for a failed job, so this is the training "alarm".
 */
export class TrainingFailureRule extends Construct {
  /** The rule. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: TrainingFailureRuleProps) {
    super(scope, id);
    if (!props.jobNamePrefix) throw new Error('TrainingFailureRule jobNamePrefix must not be empty: it would match every training job of the account');
    this.rule = new events.Rule(this, 'Rule', {
      description: `Failed SageMaker training jobs named ${props.jobNamePrefix}*`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Training Job State Change'],
        detail: {
          TrainingJobStatus: ['Failed'],
          TrainingJobName: events.Match.prefix(props.jobNamePrefix),
        },
      },
      targets: props.targets,
    });
  }

  /** The email-friendly message a topic target sends for a failure (the raw event goes to the responder). */
  static message(runbookLink: string): events.RuleTargetInput {
    return events.RuleTargetInput.fromText(
      `SageMaker training job ${events.EventField.fromPath('$.detail.TrainingJobName')} failed: ` +
      `${events.EventField.fromPath('$.detail.FailureReason')}. Runbook: ${runbookLink}`);
  }
}
