/**
 * Step: the API in front of the model server, as in AWS: the SageMaker Runtime stand-in, then a local API Gateway
 * front that hands API Gateway proxy events to the real proxy Lambda handler
 * (constructs/serving/runtime/inference-proxy.handler.ts), loaded after its environment is set.
 */
import { ApiGatewayFront, startApiGatewayFront } from '../api-gateway-front';
import { SageMakerRuntimeStandIn, startSageMakerRuntimeStandIn } from '../sagemaker-runtime-standin';
import { captureDirOf } from './drift';
import { portError } from './port';
import { HOST, LocalRun } from './run';

/** The endpoint name the local proxy calls (the stand-in knows only this one). */
const ENDPOINT_NAME = 'local-digits-endpoint';

/** The local API: the front clients call, and the stand-in behind it that holds the model server's URL. */
export interface LocalApi {
  readonly front: ApiGatewayFront;
  /** Its switchModel moves the endpoint to another model server (local/steps/swap.ts). */
  readonly standIn: SageMakerRuntimeStandIn;
}

export async function startApi(run: LocalRun, modelUrl: string): Promise<LocalApi> {
  const {
    options: { port, workDir },
    local: { config },
    progress,
  } = run;
  progress.step('Starting the SageMaker Runtime stand-in and the API (API Gateway front + proxy Lambda handler)...');
  // Captures every answered request as an endpoint with data capture does, for `npm run local -- --drift`.
  const standIn = await startSageMakerRuntimeStandIn({ modelUrl, endpointNames: [ENDPOINT_NAME], captureDirectory: captureDirOf(workDir) });
  run.onCleanup(() => standIn.close());
  const region = config.region ?? 'us-east-1';
  // The unmodified SDK client reads these when the handler creates it: the stand-in, dummy credentials
  // (never the user's real ones, which would otherwise be looked up and sent along), no metadata service.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: standIn.url,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'AKIDLOCALMODE',
    AWS_SECRET_ACCESS_KEY: 'local-mode-not-a-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    // The SDK warns on Node 20 about its releases after January 2027; package-lock pins this one.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ENDPOINT_NAME,
  });
  for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL']) delete process.env[name];
  const { handler } = await import('../../constructs/serving/runtime/inference-proxy.handler.js');
  let front: ApiGatewayFront;
  try {
    front = await startApiGatewayFront({ handler, host: HOST, port, region });
  } catch (e) {
    throw portError(port, e);
  }
  run.onCleanup(() => front.close());
  progress.detail(`Listening on ${front.predictUrl}`);
  progress.detail('the proxy handler logs one JSON line per request, as in CloudWatch Logs');
  progress.detail(`requests and answers are captured in ${captureDirOf(workDir)} (npm run local -- --drift checks them)`);
  progress.done('API ready');
  return { front, standIn };
}
