/**
 * Services the user runs elsewhere (LocalStack, DynamoDB Local, ...), named by the AWS SDK's own
 * variables: `AWS_ENDPOINT_URL_<SERVICE>` for one service, else `AWS_ENDPOINT_URL` for all of them,
 * and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` to ignore both — the SDK's precedence. Local mode
 * starts no emulator for a service given an endpoint and creates its resources there instead.
 * (The SDK also reads `endpoint_url` from profiles in ~/.aws/config; local mode does not.)
 */
import { UserError } from '../contract/user-error';

/** The services local mode emulates, as the SDK names them in `AWS_ENDPOINT_URL_<SERVICE>`. */
export const ENDPOINT_SERVICES = ['kinesis', 'dynamodb', 'sns', 'sqs', 's3'] as const;
export type EndpointService = (typeof ENDPOINT_SERVICES)[number];

/** Base URLs of the services given an endpoint; the others are emulated. */
export type ExternalEndpoints = Partial<Record<EndpointService, string>>;

export const GLOBAL_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL';
const IGNORE_VARIABLE = 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS';

/** `AWS_ENDPOINT_URL_DYNAMODB` for `dynamodb`. */
export function endpointVariable(service: EndpointService): string {
  return `${GLOBAL_ENDPOINT_VARIABLE}_${service.toUpperCase()}`;
}

/** An endpoint variable holds something that is not an http(s) URL; the message names the variable. */
export class EndpointVariableError extends UserError {
  public override readonly name = 'EndpointVariableError';
  constructor(
    readonly variable: string,
    readonly value: string,
  ) {
    super(
      `${variable}: got ${JSON.stringify(value)}; must be an http:// or https:// URL such as http://127.0.0.1:8000`,
    );
  }
}

function checkedUrl(variable: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EndpointVariableError(variable, value);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new EndpointVariableError(variable, value);
  }
  return value.replace(/\/+$/, '');
}

/**
 * The external endpoints `env` names, service-specific over global, as the SDK resolves them (an
 * empty variable counts as unset). Only a variable that is used is checked.
 */
export function externalEndpointsFromEnv(env: NodeJS.ProcessEnv = process.env): ExternalEndpoints {
  if (env[IGNORE_VARIABLE]?.toLowerCase() === 'true') return {};
  const endpoints: ExternalEndpoints = {};
  for (const service of ENDPOINT_SERVICES) {
    const variable = [endpointVariable(service), GLOBAL_ENDPOINT_VARIABLE].find((name) => env[name]);
    if (variable) endpoints[service] = checkedUrl(variable, env[variable] as string);
  }
  return endpoints;
}

/** The services in `endpoints`, in `ENDPOINT_SERVICES` order. */
export function externalServices(endpoints: ExternalEndpoints): EndpointService[] {
  return ENDPOINT_SERVICES.filter((service) => endpoints[service] !== undefined);
}

/** Whether `url` is on this machine (then the credential chain may fall back to dummy credentials). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
