/**
 * Fault builders. Codes, messages and shapes follow docs/quickbooks-api.md §2.3 and §2.9; where the real text
 * is unknown the Detail says what happened in QBO's tone and the README marks the code UNCONFIRMED.
 */

export interface FaultError {
  Message: string;
  Detail: string;
  code: string;
  element?: string;
}

export type FaultType = 'ValidationFault' | 'SystemFault' | 'AuthenticationFault' | 'SERVICE';

/** Thrown anywhere inside request handling; the HTTP layer turns it into `{"Fault":…,"time":…}`. */
export class QboFault extends Error {
  constructor(
    readonly status: number,
    readonly type: FaultType,
    readonly errors: FaultError[],
  ) {
    super(errors[0]?.Message ?? 'Fault');
  }

  get code(): string {
    return this.errors[0]?.code ?? '';
  }

  toJSON(): { Fault: { Error: FaultError[]; type: FaultType } } {
    return { Fault: { Error: this.errors, type: this.type } };
  }
}

function validation(code: string, message: string, detail: string, element?: string): QboFault {
  const error: FaultError = { Message: message, Detail: detail, code };
  if (element !== undefined) error.element = element;
  return new QboFault(400, 'ValidationFault', [error]);
}

const INACTIVE_DETAIL =
  "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.";

export const faults = {
  required: (element: string): QboFault =>
    validation(
      '2020',
      'Required param missing, need to supply the required value for the API',
      `Required parameter ${element} is missing in the request`,
      element,
    ),
  invalidCharacters: (element: string, value: string): QboFault =>
    validation(
      '2040',
      'Invalid Character',
      `Invalid Character : The ${element} "${value}" contains a character that is not allowed (:).`,
      element,
    ),
  stringLength: (element: string, max: number, supplied: number): QboFault =>
    validation(
      '2050',
      'String length is either shorter or longer than supported by specification',
      `String length specified does not match the supported length. Min:0 Max:${max} supported. Supplied length:${supplied}`,
      element,
    ),
  /**
   * 2210 "Invalid Email Address format" (code, Message and Detail as reported by integrators: Webgility's
   * "ErrorCode: 2210", DBSync's "Invalid Email Address format Email Address does not conform to the syntax
   * rules of RFC 822. Supplied value:…"). `element` is the simulator's choice (UNCONFIRMED).
   */
  invalidEmail: (element: string, supplied: string): QboFault =>
    validation(
      '2210',
      'Invalid Email Address format',
      `Email Address does not conform to the syntax rules of RFC 822. Supplied value:${supplied}`,
      element,
    ),
  invalidEnum: (element: string, value: unknown): QboFault =>
    validation(
      '2170',
      'Invalid Enumeration',
      `Invalid Enumeration : ${String(value)} is not a valid value for ${element}`,
      element,
    ),
  invalidNumber: (element: string, value: unknown): QboFault =>
    validation(
      '2010',
      'Request has invalid or unsupported property',
      `Property ${element}: ${String(value)}`,
      element,
    ),
  invalidReference: (entity: string, id: string, element: string): QboFault =>
    validation(
      '2500',
      'Invalid Reference Id',
      `Invalid Reference Id : ${entity} assigned to this transaction has been deleted or does not exist (Id=${id}).`,
      element,
    ),
  /** 610: an Id that does not exist (read, update) or a reference to a missing/inactive record. */
  objectNotFound: (element?: string): QboFault =>
    validation('610', 'Object Not Found', INACTIVE_DETAIL, element),
  linkFailure: (detail: string): QboFault => validation('620', 'Txn ID cannot be linked', detail),
  stale: (): QboFault =>
    validation(
      '5010',
      'Stale Object Error',
      'Stale Object Error : You and Harbourside Admin were working on this at the same time. Harbourside Admin finished before you did, so your work was not saved.',
    ),
  business: (detail: string, element?: string): QboFault =>
    validation(
      '6000',
      'A business validation error has occurred while processing your request',
      `Business Validation Error: ${detail}`,
      element,
    ),
  amountMismatch: (supplied: string): QboFault =>
    validation(
      '6070',
      'A business validation error has occurred while processing your request',
      `Business Validation Error: Amount is not equal to UnitPrice * Qty. Supplied value:${supplied}`,
    ),
  /**
   * TaxInclusive line whose Amount (net) is not TaxInclusiveAmt (gross) less the tax it includes.
   * UNCONFIRMED code and text: modelled on 6070 ("Amount is not equal to UnitPrice * Qty").
   */
  taxInclusiveAmountMismatch: (supplied: string, expectedNet: string, gross: string, tax: string): QboFault =>
    validation(
      '6070',
      'A business validation error has occurred while processing your request',
      `Business Validation Error: Amount is not equal to TaxInclusiveAmt less the tax it includes. Supplied value:${supplied}, expected:${expectedNet} (TaxInclusiveAmt ${gross} - tax ${tax})`,
    ),
  nestingTooDeep: (): QboFault =>
    validation(
      '6180',
      'A business validation error has occurred while processing your request',
      'Business Validation Error: Sub-customers can only be nested 5 levels deep.',
      'ParentRef',
    ),
  /** 6090 and its texts from Intuit's error list ("Discount Line missing required info."). */
  discountMissing: (): QboFault =>
    validation(
      '6090',
      'Discount Line missing required info.',
      'Discount amount or percent should be provided.',
      'DiscountLineDetail',
    ),
  noName: (): QboFault =>
    validation(
      '6080',
      'A business validation error has occurred while processing your request',
      'Business Validation Error: You must fill out at least one of the name fields (Title, GivenName, MiddleName, FamilyName, Suffix, DisplayName).',
    ),
  invalidLineTaxCode: (value: string): QboFault =>
    validation(
      '6100',
      'A business validation error has occurred while processing your request',
      `Business Validation Error: Invalid line TaxCode "${value}". Use TAX or NON.`,
      'TaxCodeRef',
    ),
  duplicateDocNumber: (docNumber: string, txnId: string, txnType = 'Invoice'): QboFault =>
    validation(
      '6140',
      'Duplicate Document Number Error',
      `Duplicate Document Number Error : You must specify a different number. This number has already been used. DocNumber=${docNumber} is assigned to TxnType=${txnType} with TxnId=${txnId}`,
    ),
  txnTaxDetailNotApplicable: (): QboFault =>
    validation(
      '6170',
      'A business validation error has occurred while processing your request',
      'Business Validation Error: TxnTaxDetail is not allowed when GlobalTaxCalculation is NotApplicable.',
      'TxnTaxDetail',
    ),
  duplicateName: (detail: string): QboFault => validation('6240', 'Duplicate Name Exists Error', detail),
  unsupportedOperation: (operation: string, entity: string): QboFault =>
    validation('500', 'Unsupported Operation', `Operation ${operation} is not supported for ${entity}.`),
  duplicateRequestId: (requestId: string): QboFault =>
    validation(
      '600',
      'Duplicate Request ID',
      `The request ID you're trying to use already exists (requestid=${requestId}). Our system detected the duplicate.`,
    ),
  batchTooLarge: (size: number): QboFault =>
    validation('1040', 'Batch size exceeds allowed limit', `Batch size ${size} exceeds allowed limit of 30.`),
  queryParse: (detail: string): QboFault =>
    validation('4000', 'Error parsing query', `QueryParserError: ${detail}`),
  queryInvalid: (detail: string): QboFault =>
    validation('4001', 'Invalid query', `QueryValidationError: ${detail}`),
  system: (): QboFault =>
    new QboFault(500, 'SystemFault', [
      {
        Message: 'An application error has occurred while processing your request',
        Detail: 'System Failure Error: An unexpected error occurred while accessing or saving your data.',
        code: '10000',
      },
    ]),
  invalidBody: (): QboFault =>
    validation(
      '2010',
      'Request has invalid or unsupported property',
      'Request body could not be parsed as JSON.',
    ),
  unknownResource: (path: string): QboFault =>
    validation('2000', 'Invalid/unsupported object name', `Unsupported resource: ${path}`),
};

/**
 * The 401 body: a different, lower-case shape than ordinary faults (docs/quickbooks-api.md §2.3, captured
 * bodies).
 */
export function authenticationFailureBody(detail: string, nowMs: number): Record<string, unknown> {
  return {
    warnings: null,
    intuitObject: null,
    fault: {
      error: [
        {
          message: 'message=AuthenticationFailed; errorCode=003200; statusCode=401',
          detail,
          code: '3200',
          element: null,
        },
      ],
      type: 'AUTHENTICATION',
    },
    report: null,
    queryResponse: null,
    batchItemResponse: [],
    attachableResponse: [],
    syncErrorResponse: null,
    requestId: null,
    time: nowMs,
    status: null,
    cdcresponse: [],
  };
}

export const WWW_AUTHENTICATE = 'Bearer realm="Intuit", error="invalid_token"';

/**
 * A valid token used against another company: 403 ApplicationAuthorizationFailed (docs/quickbooks-api.md
 * §2.9, 3100).
 */
export function applicationAuthorizationFault(): QboFault {
  return new QboFault(403, 'SERVICE', [
    {
      Message: 'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403',
      Detail: 'The token is not authorized for this company (realmId).',
      code: '3100',
    },
  ]);
}

export const THROTTLE_MESSAGE = 'message=ThrottleExceeded; errorCode=003001; statusCode=429';
export const THROTTLE_DETAIL = 'The request limit was reached.  Try again later';

export function throttleFault(): QboFault {
  return new QboFault(429, 'SERVICE', [{ Message: THROTTLE_MESSAGE, Detail: THROTTLE_DETAIL, code: '3001' }]);
}

/** The historical XML form of the throttle fault (python-quickbooks#43): some clients only ever saw this. */
export function throttleXml(time: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
    `<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="${time}">` +
    `<Fault type="SERVICE"><Error code="3001"><Message>${THROTTLE_MESSAGE}</Message>` +
    `<Detail>${THROTTLE_DETAIL}</Detail></Error></Fault></IntuitResponse>`
  );
}
