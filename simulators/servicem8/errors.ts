/**
 * ServiceM8's error responses. Bodies follow the spec's `{"errorCode", "message"}` shape; the texts of
 * 401/404/429 are the documented ones. 400s carry errorCode as the string "1000" like the spec's example
 * (its schema says number: a client must accept both).
 */

export type ErrorBody = Record<string, string | number>;

/** An API failure that the HTTP layer turns into a response as is. */
export class Sm8ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.name = 'Sm8ApiError';
  }
}

export const AUTH_FAILED_MESSAGE = 'Authentication failed. Please check your API key or OAuth token.';
export const NOT_FOUND_MESSAGE =
  'Resource not found. The requested record does not exist or has been deleted.';
export const FORBIDDEN_MESSAGE = "Access forbidden. You don't have permission to access this resource.";

export function validationError(message: string): Sm8ApiError {
  return new Sm8ApiError(400, { errorCode: '1000', message });
}

export function authenticationError(): Sm8ApiError {
  return new Sm8ApiError(401, { errorCode: 401, message: AUTH_FAILED_MESSAGE });
}

export function notFoundError(): Sm8ApiError {
  return new Sm8ApiError(404, { errorCode: 404, message: NOT_FOUND_MESSAGE });
}

export function forbiddenError(message: string = FORBIDDEN_MESSAGE): Sm8ApiError {
  return new Sm8ApiError(403, { errorCode: 403, message });
}

/** The text ServiceM8 answered live when a scope was missing (docs/servicem8-api.md §1). */
export function insufficientScopeError(scope: string): Sm8ApiError {
  return forbiddenError(`insufficient_scope: "${scope}" scope required to complete this request`);
}
