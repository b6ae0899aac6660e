/**
 * SageMaker instance quotas: each instance type has its own quota per usage (training, spot training,
 * processing, endpoint) in each region, and a job or endpoint that needs more instances than its quota fails
 * with ResourceLimitExceeded (new accounts often have 0 for GPU types). A quota that Service Quotas does not
 * list in the region means SageMaker does not offer that type for that usage there.
 *
 * Service Quotas' ListAWSDefaultServiceQuotas lists every quota of a service with its AWS default (it is the
 * catalogue of what the region offers); GetServiceQuota reads the account's applied value, and answers
 * NoSuchResourceException for a quota with no applied value, whose value is then the default:
 * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
 * (ListServiceQuotas likewise leaves out "quotas whose applied value is not available":
 * https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html).
 */
import { GetServiceQuotaCommand, ListAWSDefaultServiceQuotasCommand, NoSuchResourceException } from '@aws-sdk/client-service-quotas';

import { AccountClients } from './account-clients';
import { InstanceNeed, quotaName } from './deploy-plan';
import { Finding, note, ok, problem, unreadable } from './findings';

interface Quota {
  readonly code: string;
  readonly value: number;
  /** Whether `value` is only the AWS default (the account has no applied value). */
  readonly isDefault: boolean;
}

/** Every SageMaker quota the region lists, by name, with its default value. */
async function catalogue(clients: AccountClients): Promise<Map<string, { code: string; defaultValue: number }>> {
  const out = new Map<string, { code: string; defaultValue: number }>();
  let token: string | undefined;
  do {
    const page = await clients.serviceQuotas.send(
      new ListAWSDefaultServiceQuotasCommand({ ServiceCode: 'sagemaker', MaxResults: 100, NextToken: token }),
    );
    for (const q of page.Quotas ?? []) {
      if (q.QuotaName && q.QuotaCode) out.set(q.QuotaName, { code: q.QuotaCode, defaultValue: q.Value ?? 0 });
    }
    token = page.NextToken;
  } while (token);
  return out;
}

async function applied(clients: AccountClients, code: string, defaultValue: number): Promise<Quota> {
  try {
    const got = await clients.serviceQuotas.send(new GetServiceQuotaCommand({ ServiceCode: 'sagemaker', QuotaCode: code }));
    return { code, value: got.Quota?.Value ?? defaultValue, isDefault: got.Quota?.Value === undefined };
  } catch (e) {
    if (e instanceof NoSuchResourceException) return { code, value: defaultValue, isDefault: true };
    throw e;
  }
}

/** The CLI line that asks for a quota of `value`, and the console page of that quota. */
function increase(code: string, value: number, region: string): string {
  return (
    `aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code ${code} --desired-value ${value} --region ${region}` +
    ` (or https://console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas/${code}?region=${region})`
  );
}

/** Another way out than a quota increase, where there is one. */
function alternative(need: InstanceNeed): string {
  if (need.usage === 'spot training job')
    return `; or train on demand with -c trainingUseSpot=false (that needs "${quotaName({ ...need, usage: 'training job' })}")`;
  return `; or pick another type with -c ${need.setting}=<type>`;
}

export async function checkSageMakerQuotas(clients: AccountClients, needs: readonly InstanceNeed[], region: string): Promise<Finding[]> {
  let offered: Map<string, { code: string; defaultValue: number }>;
  try {
    offered = await catalogue(clients);
  } catch (e) {
    return [unreadable('sagemaker', 'the SageMaker quotas from Service Quotas', e, 'servicequotas:ListAWSDefaultServiceQuotas')];
  }
  const findings: Finding[] = [];
  for (const need of needs) {
    const name = quotaName(need);
    const listed = offered.get(name);
    if (!listed) {
      findings.push(
        problem(
          'sagemaker',
          `${need.instanceType} is not offered for ${need.usage}s in ${region} (Service Quotas lists no "${name}" there), so ${need.purpose} cannot start`,
          `pick another type with -c ${need.setting}=<type>, or deploy to a region that offers it`,
        ),
      );
      continue;
    }
    let quota: Quota;
    try {
      quota = await applied(clients, listed.code, listed.defaultValue);
    } catch (e) {
      findings.push(unreadable('sagemaker', `the quota "${name}"`, e, 'servicequotas:GetServiceQuota'));
      continue;
    }
    const shown = `"${name}" is ${quota.value}${quota.isDefault ? ' (the AWS default; no applied value)' : ''} in ${region}`;
    if (quota.value < need.count) {
      findings.push(
        problem(
          'sagemaker',
          `${shown}, and ${need.purpose} needs ${need.count}`,
          `request ${need.count}: ${increase(quota.code, need.count, region)}${alternative(need)}`,
        ),
      );
      continue;
    }
    findings.push(ok('sagemaker', `${shown}; ${need.purpose} needs ${need.count}`));
    for (const later of need.later) {
      if (quota.value < later.count) {
        findings.push(
          note(
            'sagemaker',
            `"${name}" is ${quota.value}: ${later.why} needs ${later.count}`,
            `request ${later.count} before then: ${increase(quota.code, later.count, region)}`,
          ),
        );
      }
    }
  }
  return findings;
}
