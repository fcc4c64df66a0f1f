import type { SdkFlavour } from './model.js';

/** The parts of a segment that say which SDK wrote it, as each SDK fills them in (captures, reference §1.6). */
const XRAY: Record<SdkFlavour, { sdk: string; sdk_version: string; package?: string }> = {
  node: { sdk: 'X-Ray for Node.js', sdk_version: '3.12.0', package: 'aws-xray-sdk-core' },
  java: { sdk: 'X-Ray for Java', sdk_version: '2.18.2' },
  go: { sdk: 'X-Ray for Go', sdk_version: '1.8.4' },
  python: { sdk: 'X-Ray for Python', sdk_version: '2.14.0' },
};

const RUNTIME: Record<SdkFlavour, { runtime: string; runtime_version: string } | undefined> = {
  node: { runtime: 'node', runtime_version: 'v20.20.2' },
  java: { runtime: 'OpenJDK 64-Bit Server VM', runtime_version: '17.0.12' },
  go: undefined,
  python: { runtime: 'CPython', runtime_version: '3.12.7' },
};

/** The segment's `aws` object, as JSON text. */
export function awsJson(sdk: SdkFlavour): string {
  return JSON.stringify({ xray: XRAY[sdk] });
}

/** The segment's `service` object, as JSON text. */
export function serviceJson(sdk: SdkFlavour, version: string): string {
  const rt = RUNTIME[sdk];
  return JSON.stringify(rt ? { runtime: rt.runtime, runtime_version: rt.runtime_version, version } : { version });
}

/** What an own fault looks like in `cause` (what `addError(err)` records). */
export const FAULT_EXCEPTIONS: ReadonlyArray<{ type: string; message: string }> = [
  { type: 'TypeError', message: "Cannot read properties of undefined (reading 'id')" },
  { type: 'Error', message: 'connection pool exhausted' },
  { type: 'TimeoutError', message: 'operation timed out after 2000 ms' },
  { type: 'RangeError', message: 'Invalid array length' },
];

export const AWS_FAULT = { type: 'InternalServerError', message: 'Internal server error' };
export const AWS_THROTTLE = { type: 'ThrottlingException', message: 'Rate exceeded' };

export const USER_AGENTS = ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15', 'okhttp/4.12.0', 'ShopApp/5.3 (iPhone; iOS 18.0)', 'curl/8.5.0'];
export const TIERS = ['gold', 'silver', 'bronze'];
