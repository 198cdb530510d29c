/**
 * Errors in the shape FastAPI (and so AUTOMATIC1111) returns, so that clients written for A1111
 * read them: `422 {"detail":[{"loc":["body","steps"],"msg":"…","type":"…"}]}`.
 */
import { InvalidArgumentError } from '@latentkit/core';

/** One per-field problem, as pydantic v1 reports it. */
export interface FieldError {
  readonly loc: (string | number)[];
  readonly msg: string;
  readonly type: string;
  readonly ctx?: Readonly<Record<string, unknown>>;
}

/** A request the server refuses with 422 and per-field errors. */
export class RequestValidationError extends Error {
  readonly statusCode = 422;
  constructor(readonly detail: FieldError[]) {
    super(detail.map((d) => `${d.loc.join('.')}: ${d.msg}`).join('; '));
    this.name = 'RequestValidationError';
  }

  /** One field's error. */
  static field(field: string, msg: string, type = 'value_error'): RequestValidationError {
    return new RequestValidationError([{ loc: ['body', field], msg, type }]);
  }
}

/** An error with an HTTP status and a one-line detail safe to show to a client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'HttpError';
  }
}

/** ajv's error object, as fastify hands it over. */
interface AjvError {
  readonly instancePath?: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

/** The A1111 field names a pipeline argument corresponds to (for errors a worker reports). */
const FIELD_BY_ARGUMENT: Readonly<Record<string, string>> = {
  numInferenceSteps: 'steps',
  guidanceScale: 'cfg_scale',
  width: 'width',
  height: 'height',
  strength: 'denoising_strength',
  image: 'init_images',
  mask: 'mask',
  prompt: 'prompt',
  negativePrompt: 'negative_prompt',
  eta: 'eta',
  name: 'sampler_name',
};

/**
 * Turns a pipeline's {@link InvalidArgumentError} into the 422 a client sees, naming the request field.
 *
 * @example
 * ```ts
 * fromInvalidArgument('width', 'width must be 64 …').detail[0].loc; // ['body', 'width']
 * ```
 */
export function fromInvalidArgument(argument: string, message: string): RequestValidationError {
  const root = argument.split(/[.[]/)[0]!;
  return RequestValidationError.field(FIELD_BY_ARGUMENT[root] ?? root, message);
}

/** Same, from the error itself. */
export function fromPipelineError(error: InvalidArgumentError): RequestValidationError {
  return fromInvalidArgument(error.argumentName, error.message);
}

function jsonType(keyword: string, params: Record<string, unknown>): { msg: string; type: string } {
  const expected = String(params.type ?? '');
  switch (expected) {
    case 'integer':
      return { msg: 'value is not a valid integer', type: 'type_error.integer' };
    case 'number':
      return { msg: 'value is not a valid float', type: 'type_error.float' };
    case 'string':
      return { msg: 'str type expected', type: 'type_error.str' };
    case 'boolean':
      return { msg: 'value could not be parsed to a boolean', type: 'type_error.bool' };
    case 'array':
      return { msg: 'value is not a valid list', type: 'type_error.list' };
    case 'object':
      return { msg: 'value is not a valid dict', type: 'type_error.dict' };
    default:
      return { msg: `value is not a valid ${expected || keyword}`, type: `type_error.${expected || keyword}` };
  }
}

/**
 * ajv's errors (fastify's schema validation) → FastAPI's per-field list.
 *
 * @example
 * ```ts
 * fromAjvErrors([{ instancePath: '/steps', keyword: 'maximum', params: { limit: 150 } }], 'body');
 * // [{ loc: ['body', 'steps'], msg: 'ensure this value is less than or equal to 150', type: 'value_error.number.not_le', ctx: { limit_value: 150 } }]
 * ```
 */
export function fromAjvErrors(errors: readonly AjvError[], context: string): FieldError[] {
  return errors.map((error) => {
    const path = (error.instancePath ?? '')
      .split('/')
      .filter((part) => part !== '')
      .map((part) => (/^\d+$/.test(part) ? Number(part) : part.replace(/~1/g, '/').replace(/~0/g, '~')));
    const loc: (string | number)[] = [context, ...path];
    const p = error.params;
    switch (error.keyword) {
      case 'required':
        return { loc: [...loc, String(p.missingProperty)], msg: 'field required', type: 'value_error.missing' };
      case 'type':
        return { loc, ...jsonType(error.keyword, p) };
      case 'maximum':
        return { loc, msg: `ensure this value is less than or equal to ${p.limit}`, type: 'value_error.number.not_le', ctx: { limit_value: p.limit } };
      case 'minimum':
        return { loc, msg: `ensure this value is greater than or equal to ${p.limit}`, type: 'value_error.number.not_ge', ctx: { limit_value: p.limit } };
      case 'exclusiveMinimum':
        return { loc, msg: `ensure this value is greater than ${p.limit}`, type: 'value_error.number.not_gt', ctx: { limit_value: p.limit } };
      case 'maxLength':
        return { loc, msg: `ensure this value has at most ${p.limit} characters`, type: 'value_error.any_str.max_length', ctx: { limit_value: p.limit } };
      case 'minLength':
        return { loc, msg: `ensure this value has at least ${p.limit} characters`, type: 'value_error.any_str.min_length', ctx: { limit_value: p.limit } };
      case 'maxItems':
        return { loc, msg: `ensure this value has at most ${p.limit} items`, type: 'value_error.list.max_items', ctx: { limit_value: p.limit } };
      case 'enum':
        return { loc, msg: `value is not a valid enumeration member; permitted: ${(p.allowedValues as unknown[]).map((v) => `'${v}'`).join(', ')}`, type: 'type_error.enum' };
      case 'multipleOf':
        return { loc, msg: `ensure this value is a multiple of ${p.multipleOf}`, type: 'value_error.number.not_multiple', ctx: { multiple_of: p.multipleOf } };
      default:
        return { loc, msg: error.message ?? 'invalid value', type: `value_error.${error.keyword}` };
    }
  });
}
