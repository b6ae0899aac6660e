/**
 * The CloudWatch metrics of the platform's parts, built from the names their stacks hand over. A name from
 * another stack must be a reference to that stack's resource (an attribute, which CDK turns into a cross-stack
 * reference), never a string built from a pseudo parameter such as AWS::StackId, which CloudFormation resolves
 * in each template on its own (docs/deploy-rehearsal.md). Alarms and dashboard use these same functions, so a
 * graph always shows what its alarm watches.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** A SageMaker real-time endpoint's production variant. */
export interface EndpointRef {
  /** The endpoint's name. */
  readonly endpointName: string;
  /** The production variant's name. */
  readonly variantName: string;
  /** Whether its instances have GPUs: GPU utilisation and GPU memory are watched instead of CPU. */
  readonly hasGpu: boolean;
}

/** A deployed stage of a REST API. */
export interface ApiRef {
  /** The REST API (its name is the ApiName dimension). */
  readonly restApi: apigw.IRestApi;
  /** The stage's name. */
  readonly stageName: string;
}

/** A regional WAFv2 web ACL. */
export interface WebAclRef {
  /** The web ACL's name (the WebACL dimension of its AWS/WAFV2 metrics). */
  readonly webAclName: string;
  /**
   * Region of the web ACL (the Region dimension).
   * @default - the region of the stack that uses the metric
   */
  readonly region?: string;
}

/** The period every alarm of the platform evaluates: short enough to page quickly, long enough to be stable. */
export const PERIOD = Duration.minutes(5);

type Options = Pick<cloudwatch.MetricOptions, 'statistic' | 'period' | 'label' | 'unit'>;

/** Invocation metrics (AWS/SageMaker): Invocations, Invocation4XXErrors, Invocation5XXErrors, ModelLatency (µs), ... */
export function endpointMetric(e: EndpointRef, metricName: string, options: Options = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/SageMaker',
    metricName,
    dimensionsMap: { EndpointName: e.endpointName, VariantName: e.variantName },
    period: PERIOD,
    statistic: 'Sum',
    ...options,
  });
}

/** Instance metrics (/aws/sagemaker/Endpoints): CPUUtilization, MemoryUtilization, GPUUtilization, ... */
export function endpointInstanceMetric(e: EndpointRef, metricName: string, options: Options = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: '/aws/sagemaker/Endpoints',
    metricName,
    dimensionsMap: { EndpointName: e.endpointName, VariantName: e.variantName },
    period: PERIOD,
    statistic: 'Average',
    ...options,
  });
}

/** Stage metrics (AWS/ApiGateway): Count, 4XXError, 5XXError, Latency, IntegrationLatency. */
export function apiMetric(a: ApiRef, metricName: string, options: Options = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiName: a.restApi.restApiName, Stage: a.stageName },
    period: PERIOD,
    statistic: 'Sum',
    ...options,
  });
}

/** Web ACL metrics over all its rules (AWS/WAFV2, Rule=ALL): AllowedRequests, BlockedRequests. */
export function webAclMetric(w: WebAclRef, region: string, metricName: string, options: Options = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/WAFV2',
    metricName,
    dimensionsMap: { WebACL: w.webAclName, Region: w.region ?? region, Rule: 'ALL' },
    period: PERIOD,
    statistic: 'Sum',
    ...options,
  });
}
