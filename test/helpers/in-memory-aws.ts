/**
 * DynamoDB, SNS and S3 in memory, behind real SDK v3 clients: a middleware at the front of each
 * client's stack answers the commands the stream processor's adapters send, so the deployed
 * handler (`createHandler`) and its adapters run unchanged, with no emulator and no socket.
 *
 * Faithful where the speed layer depends on it, and loud everywhere else:
 *  - DynamoDB: BatchGetItem, GetItem and UpdateItem with the SET / REMOVE update expressions and
 *    the attribute_exists / attribute_not_exists / `path = :value` conditions the adapters write;
 *    ConditionalCheckFailedException on a failed condition; DynamoDB's ValidationException for
 *    numbers outside its range (magnitude 1e-130 to below 1e126, at most 38 digits), items above
 *    400 KB, unused or missing expression names and values, more than 100 or duplicate keys.
 *  - SNS: Publish to the one topic, with SNS's limits on subject and attributes.
 *  - S3: PutObject to the one bucket.
 * Any other command or expression throws `UnsupportedInMemoryCallError`: a test then fails
 * instead of silently passing on something the fake does not model.
 *
 * Used by the fuzz tests, which push far more records through the handler than the emulators
 * could take in a CI budget; the integration and fault tests use the real emulators.
 * test/fuzz/in-memory-aws.test.ts checks the DynamoDB part against dynalite, command for command
 * (numbers come back in DynamoDB's canonical form, as there).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  InternalErrorException,
  InvalidParameterException,
  NotFoundException,
  SNSClient,
} from '@aws-sdk/client-sns';

type Item = Record<string, AttributeValue>;

export type InMemoryService = 'dynamodb' | 'sns' | 's3';

/** A command or expression the in-memory services do not model. */
export class UnsupportedInMemoryCallError extends Error {
  public override readonly name = 'UnsupportedInMemoryCallError';
}

export interface PublishedMessage {
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface InMemoryAwsOptions {
  readonly tableName: string;
  readonly topicArn: string;
  readonly bucket: string;
}

const MAX_ITEM_BYTES = 400 * 1024;
const MAX_BATCH_GET_KEYS = 100;
const metadata = () => ({ httpStatusCode: 400, requestId: 'in-memory', attempts: 1, totalRetryDelay: 0 });

function validationError(message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: metadata(),
    message,
  });
}

function serverError(service: InMemoryService): Error {
  const options = {
    $metadata: { ...metadata(), httpStatusCode: 500 },
    message: 'We encountered an internal error',
  };
  if (service === 'sns') return new InternalErrorException(options);
  if (service === 's3')
    return new S3ServiceException({ ...options, name: 'InternalError', $fault: 'server' });
  return new DynamoDBServiceException({ ...options, name: 'InternalServerError', $fault: 'server' });
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** DynamoDB's rules for a number attribute (its error messages included). */
function checkNumber(text: string): void {
  if (!NUMBER.test(text)) {
    throw validationError(`The parameter cannot be converted to a numeric value: ${text}`);
  }
  // What String(number) writes for an ordinary number: clearly in range, at most 17 digits.
  const quick = Math.abs(Number(text));
  if (text.length <= 24 && (quick === 0 || (quick > 1e-128 && quick < 1e125))) return;
  const [mantissa, exponentText] = text.replace(/^[+-]/, '').toLowerCase().split('e');
  const exponent = Number(exponentText ?? '0');
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return; // zero
  const significant = digits.replace(/0+$/, '');
  if (significant.length > 38) {
    throw validationError('Attempting to store more than 38 significant digits in a Number');
  }
  // Position of the leading digit: the number is 0.d1d2... × 10^magnitude.
  const leadingZeros = (whole + fraction).length - (whole + fraction).replace(/^0+/, '').length;
  const magnitude = whole.length - leadingZeros + exponent;
  if (magnitude > 126) {
    throw validationError(
      'Number overflow. Attempting to store a number with magnitude larger than supported range',
    );
  }
  if (magnitude < -129) {
    throw validationError(
      'Number underflow. Attempting to store a number with magnitude smaller than supported range',
    );
  }
}

const CANONICAL = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;

/** A number as DynamoDB stores and returns it: plain decimal, no exponent, no superfluous zeros. */
export function canonicalNumber(text: string): string {
  if (CANONICAL.test(text) && text !== '-0') return text;
  const negative = text.startsWith('-');
  const [mantissa, exponentText] = text.replace(/^[+-]/, '').toLowerCase().split('e');
  const [whole, fraction = ''] = mantissa.split('.');
  let digits = whole + fraction;
  // The decimal point sits after `point` digits.
  let point = whole.length + Number(exponentText ?? '0');
  const leading = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(leading);
  point -= leading;
  digits = digits.replace(/0+$/, '');
  if (digits === '') return '0';
  const plain =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}

/** The value with every number in DynamoDB's canonical form. */
function canonicalValue(value: AttributeValue): AttributeValue {
  if (value.N !== undefined) {
    checkNumber(value.N);
    return { N: canonicalNumber(value.N) };
  }
  if (value.M !== undefined)
    return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, canonicalValue(v)])) };
  if (value.L !== undefined) return { L: value.L.map(canonicalValue) };
  return value;
}

/** Validates every number inside a value and returns the value's size in bytes (DynamoDB's rules). */
function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) {
    checkNumber(value.N);
    return Math.ceil(value.N.replace(/[^0-9]/g, '').length / 2) + 1;
  }
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M !== undefined) {
    let size = 3;
    for (const [name, inner] of Object.entries(value.M))
      size += Buffer.byteLength(name) + valueSize(inner) + 1;
    return size;
  }
  if (value.L !== undefined) {
    let size = 3;
    for (const inner of value.L) size += valueSize(inner) + 1;
    return size;
  }
  throw new UnsupportedInMemoryCallError(`attribute value type not modelled: ${JSON.stringify(value)}`);
}

/** An item's size as DynamoDB counts it (attribute names and values), which capacity units are billed by. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function equalValues(a: AttributeValue | undefined, b: AttributeValue): boolean {
  if (a === undefined) return false;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) === Number(b.N);
  if (a.S !== undefined && b.S !== undefined) return a.S === b.S;
  return false;
}

/** Resolves `#name` and `:value` references, recording which ones an expression used. */
class ExpressionContext {
  readonly usedNames = new Set<string>();
  readonly usedValues = new Set<string>();

  constructor(
    private readonly names: Record<string, string> = {},
    private readonly values: Record<string, AttributeValue> = {},
  ) {}

  path(text: string): string[] {
    return text
      .trim()
      .split('.')
      .map((part) => {
        if (!part.startsWith('#')) {
          if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(part))
            throw new UnsupportedInMemoryCallError(`path element not modelled: ${part}`);
          return part;
        }
        if (!(part in this.names))
          throw validationError(
            `An expression attribute name used in the document path is not defined; attribute name: ${part}`,
          );
        this.usedNames.add(part);
        return this.names[part];
      });
  }

  value(text: string): AttributeValue {
    const ref = text.trim();
    if (!ref.startsWith(':')) throw new UnsupportedInMemoryCallError(`operand not modelled: ${ref}`);
    if (!(ref in this.values))
      throw validationError(
        `An expression attribute value used in expression is not defined; attribute value: ${ref}`,
      );
    this.usedValues.add(ref);
    return this.values[ref];
  }

  /** DynamoDB rejects names and values that no expression uses. */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names).filter((n) => !this.usedNames.has(n));
    if (unusedNames.length > 0)
      throw validationError(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`,
      );
    const unusedValues = Object.keys(this.values).filter((v) => !this.usedValues.has(v));
    if (unusedValues.length > 0)
      throw validationError(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`,
      );
  }
}

function conditionHolds(item: Item | undefined, expression: string, context: ExpressionContext): boolean {
  const trimmed = expression.trim();
  const call = /^(attribute_exists|attribute_not_exists)\((.+)\)$/.exec(trimmed);
  if (call) {
    const path = context.path(call[2]);
    if (path.length !== 1) throw new UnsupportedInMemoryCallError(`condition not modelled: ${trimmed}`);
    const exists = item !== undefined && path[0] in item;
    return call[1] === 'attribute_exists' ? exists : !exists;
  }
  const comparison = /^([#A-Za-z][\w#.]*)\s*=\s*(:\w+)$/.exec(trimmed);
  if (comparison) {
    const path = context.path(comparison[1]);
    if (path.length !== 1) throw new UnsupportedInMemoryCallError(`condition not modelled: ${trimmed}`);
    return equalValues(item?.[path[0]], context.value(comparison[2]));
  }
  throw new UnsupportedInMemoryCallError(`condition not modelled: ${trimmed}`);
}

/**
 * Applies `SET a = :a, #b = :b REMOVE #c.#d` to a copy of `item`. Stored items are never changed
 * in place (an update stores a new item), so they are handed out without copying.
 */
function applyUpdate(item: Item, expression: string, context: ExpressionContext): Item {
  const next = { ...item };
  const clauses = expression
    .trim()
    .split(/\b(SET|REMOVE)\b/)
    .filter((part) => part.trim() !== '');
  if (clauses.length % 2 !== 0) throw new UnsupportedInMemoryCallError(`update not modelled: ${expression}`);
  for (let i = 0; i < clauses.length; i += 2) {
    const keyword = clauses[i];
    for (const action of clauses[i + 1].split(',')) {
      if (keyword === 'SET') {
        const [pathText, valueText, extra] = action.split('=');
        if (valueText === undefined || extra !== undefined)
          throw new UnsupportedInMemoryCallError(`SET action not modelled: ${action}`);
        const path = context.path(pathText);
        if (path.length !== 1) throw new UnsupportedInMemoryCallError(`nested SET not modelled: ${action}`);
        next[path[0]] = canonicalValue(context.value(valueText));
      } else if (keyword === 'REMOVE') {
        const path = context.path(action);
        if (path.length === 1) delete next[path[0]];
        else if (path.length === 2) {
          const map = next[path[0]]?.M;
          if (map) {
            const { [path[1]]: _removed, ...rest } = map;
            next[path[0]] = { M: rest };
          }
        } else throw new UnsupportedInMemoryCallError(`REMOVE path not modelled: ${action}`);
      }
    }
  }
  return next;
}

interface TableKey {
  readonly pk: string;
  readonly sk: string;
}

function keyOf(key: Item): TableKey {
  if (key.pk?.S === undefined || key.sk?.S === undefined || Object.keys(key).length !== 2)
    throw validationError('The provided key element does not match the schema');
  if (key.pk.S === '' || key.sk.S === '')
    throw validationError(
      'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value.',
    );
  if (Buffer.byteLength(key.pk.S) > 2048 || Buffer.byteLength(key.sk.S) > 1024)
    throw validationError(
      'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes',
    );
  return { pk: key.pk.S, sk: key.sk.S };
}

/**
 * The services' state, and the clients that reach it. Create the clients once and `reset()`
 * between independent runs.
 */
export class InMemoryAws {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly s3: S3Client;
  /** Items by `pk`, then `sk`. */
  private items = new Map<string, Map<string, Item>>();
  private messages: PublishedMessage[] = [];
  private objects = new Map<string, string>();
  readonly calls = new Map<string, number>();
  /** Services that answer every call with a server error (HTTP 500) until removed from the set. */
  readonly failing = new Set<InMemoryService>();

  constructor(readonly options: InMemoryAwsOptions) {
    // Nothing listens on port 9: a command the middleware let through could not reach anything.
    const common = {
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'in-memory', secretAccessKey: 'in-memory' },
      maxAttempts: 1,
    };
    this.dynamodb = new DynamoDBClient(common);
    this.sns = new SNSClient(common);
    this.s3 = new S3Client({ ...common, forcePathStyle: true });
    for (const [service, client, answer] of [
      ['dynamodb', this.dynamodb, (command: string, input: any) => this.dynamodbCall(command, input)],
      ['sns', this.sns, (command: string, input: any) => this.snsCall(command, input)],
      ['s3', this.s3, (command: string, input: any) => this.s3Call(command, input)],
    ] as const) {
      (client as any).middlewareStack.add(
        (_next: unknown, context: { commandName?: string }) => async (args: { input: unknown }) => {
          const command = context.commandName ?? 'unknown';
          this.calls.set(command, (this.calls.get(command) ?? 0) + 1);
          // A turn of the event loop, as a network call would take.
          await Promise.resolve();
          if (this.failing.has(service)) throw serverError(service);
          const output = answer(command, args.input);
          return { output: { $metadata: { httpStatusCode: 200 }, ...output }, response: {} };
        },
        { step: 'initialize', name: 'inMemoryAws', priority: 'high' },
      );
    }
  }

  /** Forgets every item, message and object. */
  reset(): void {
    this.items = new Map();
    this.messages = [];
    this.objects = new Map();
    this.calls.clear();
  }

  /** Every item of the table, as stored. */
  allItems(): Item[] {
    return [...this.items.values()].flatMap((bySk) => [...bySk.values()]);
  }

  get published(): readonly PublishedMessage[] {
    return this.messages;
  }

  /** Objects by key. */
  get bucketObjects(): ReadonlyMap<string, string> {
    return this.objects;
  }

  destroy(): void {
    this.dynamodb.destroy();
    this.sns.destroy();
    this.s3.destroy();
  }

  private getItem(key: TableKey): Item | undefined {
    return this.items.get(key.pk)?.get(key.sk);
  }

  private checkTable(tableName: string): void {
    if (tableName !== this.options.tableName)
      throw new DynamoDBServiceException({
        name: 'ResourceNotFoundException',
        $fault: 'client',
        $metadata: metadata(),
        message: 'Requested resource not found',
      });
  }

  private dynamodbCall(command: string, input: any): object {
    switch (command) {
      case 'BatchGetItemCommand': {
        const tables = Object.entries(input.RequestItems ?? {}) as Array<[string, { Keys: Item[] }]>;
        const responses: Record<string, Item[]> = {};
        let total = 0;
        for (const [tableName, request] of tables) {
          this.checkTable(tableName);
          const seen = new Set<string>();
          responses[tableName] = [];
          for (const raw of request.Keys) {
            const key = keyOf(raw);
            const id = `${key.pk}\n${key.sk}`;
            if (seen.has(id)) throw validationError('Provided list of item keys contains duplicates');
            seen.add(id);
            total++;
            const item = this.getItem(key);
            if (item) responses[tableName].push(item);
          }
        }
        if (total === 0 || total > MAX_BATCH_GET_KEYS)
          throw validationError(`Too many items requested for the BatchGetItem call (${total})`);
        return { Responses: responses, UnprocessedKeys: {} };
      }
      case 'GetItemCommand': {
        this.checkTable(input.TableName);
        const item = this.getItem(keyOf(input.Key));
        return item ? { Item: item } : {};
      }
      case 'UpdateItemCommand': {
        this.checkTable(input.TableName);
        const key = keyOf(input.Key);
        const context = new ExpressionContext(
          input.ExpressionAttributeNames,
          input.ExpressionAttributeValues,
        );
        const current = this.getItem(key);
        const holds =
          input.ConditionExpression === undefined ||
          conditionHolds(current, input.ConditionExpression, context);
        const next = applyUpdate(
          current ?? { pk: { S: key.pk }, sk: { S: key.sk } },
          input.UpdateExpression,
          context,
        );
        context.checkAllUsed();
        if (!holds)
          throw new ConditionalCheckFailedException({
            $metadata: metadata(),
            message: 'The conditional request failed',
          });
        if (itemSize(next) > MAX_ITEM_BYTES)
          throw validationError('Item size has exceeded the maximum allowed size');
        let bySk = this.items.get(key.pk);
        if (!bySk) {
          bySk = new Map();
          this.items.set(key.pk, bySk);
        }
        bySk.set(key.sk, next);
        if (input.ReturnValues === 'ALL_NEW') return { Attributes: next };
        if (input.ReturnValues !== undefined && input.ReturnValues !== 'NONE')
          throw new UnsupportedInMemoryCallError(`ReturnValues ${input.ReturnValues} not modelled`);
        return {};
      }
      default:
        throw new UnsupportedInMemoryCallError(`DynamoDB ${command} not modelled`);
    }
  }

  private snsCall(command: string, input: any): object {
    if (command !== 'PublishCommand') throw new UnsupportedInMemoryCallError(`SNS ${command} not modelled`);
    if (input.TopicArn !== this.options.topicArn)
      throw new NotFoundException({ $metadata: metadata(), message: 'Topic does not exist' });
    const invalid = (reason: string) =>
      new InvalidParameterException({ $metadata: metadata(), message: `Invalid parameter: ${reason}` });
    const subject: string | undefined = input.Subject;
    if (
      subject !== undefined &&
      (subject.length === 0 || subject.length >= 100 || !/^[\x20-\x7e]+$/.test(subject))
    )
      throw invalid(`Subject ${JSON.stringify(subject)}`);
    const message: string = input.Message;
    if (typeof message !== 'string' || message.length === 0 || Buffer.byteLength(message) > 256 * 1024)
      throw invalid('Message');
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(
      (input.MessageAttributes ?? {}) as Record<string, { DataType: string; StringValue?: string }>,
    )) {
      if (value.DataType !== 'String' || !value.StringValue)
        throw invalid(`Message attribute '${name}' must contain non-empty message attribute value`);
      attributes[name] = value.StringValue;
    }
    this.messages.push({ topicArn: input.TopicArn, subject, message, attributes });
    return { MessageId: `m-${this.messages.length}` };
  }

  private s3Call(command: string, input: any): object {
    if (command !== 'PutObjectCommand') throw new UnsupportedInMemoryCallError(`S3 ${command} not modelled`);
    if (input.Bucket !== this.options.bucket)
      throw new UnsupportedInMemoryCallError(`bucket ${input.Bucket}`);
    if (typeof input.Body !== 'string')
      throw new UnsupportedInMemoryCallError('PutObject bodies other than strings not modelled');
    if (Buffer.byteLength(input.Key) > 1024) throw new UnsupportedInMemoryCallError('key too long');
    this.objects.set(input.Key, input.Body);
    return { ETag: '"in-memory"' };
  }
}
