/**
 * The content types the endpoint captures as text (CaptureContentTypeHeader): what the model server accepts.
 * SageMaker writes a listed type's body with the encoding CSV or JSON and any other as BASE64
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CaptureContentTypeHeader.html). The endpoint config
 * (inference-endpoint.ts) and the local stand-in's capture (local/capture-writer.ts) read this one table.
 */
export const CAPTURE_CONTENT_TYPES = { json: ['application/json'], csv: ['text/csv'] } as const;

/** The capture encoding SageMaker gives a body of `contentType` (its media type, parameters ignored). */
export function captureEncoding(contentType: string | undefined): 'JSON' | 'CSV' | 'BASE64' {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if ((CAPTURE_CONTENT_TYPES.json as readonly string[]).includes(media)) return 'JSON';
  if ((CAPTURE_CONTENT_TYPES.csv as readonly string[]).includes(media)) return 'CSV';
  return 'BASE64';
}
