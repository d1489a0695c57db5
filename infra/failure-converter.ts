/**
 * The failure converter of every worker, client and workflow bundle (DataConverter.failureConverterPath):
 * error messages and stack traces travel in an encoded payload, so the payload codec encrypts them too (an API's
 * refusal can quote a customer's name). Decoding accepts both, so older plaintext failures still read.
 * Bundled into workflow code: it may only import what the workflow sandbox allows.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
