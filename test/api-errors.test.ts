import { ApplicationFailure } from '@temporalio/common';
import { AxiosError, AxiosHeaders, type AxiosResponse } from 'axios';
import { classifyApiError, FailureType } from '../apis/errors';

function httpError(status: number, data: unknown): AxiosError {
  const config = { headers: new AxiosHeaders(), method: 'post', url: '/invoice' };
  const response = { status, data, statusText: '', headers: {}, config } as AxiosResponse;
  return new AxiosError(
    `Request failed with status code ${status}`,
    'ERR_BAD_RESPONSE',
    config,
    {},
    response,
  );
}
const fault = (code: string, message: string, detail = '') => ({
  Fault: { Error: [{ Message: message, Detail: detail, code, element: '' }], type: 'ValidationFault' },
});

describe('API failures are classified once into Temporal failures', () => {
  it.each([
    ['6240', 'Duplicate Name Exists Error'],
    ['6140', 'Duplicate Document Number Error'],
    ['610', 'Object Not Found'],
    ['2020', 'Required param missing'],
    ['6070', 'Amount is not equal to UnitPrice * Qty'],
  ])('QBO validation fault %s is non-retryable and keeps the API code and message', (code, message) => {
    const f = classifyApiError('qbo', httpError(400, fault(code, message, 'the detail')));
    expect(f.type).toBe(FailureType.validation);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(message);
    expect(f.details?.[0]).toMatchObject({ api: 'qbo', status: 400, code, message, detail: 'the detail' });
  });

  it('QBO 5010 stale object is retryable (the activity re-reads the SyncToken)', () => {
    const f = classifyApiError('qbo', httpError(400, fault('5010', 'Stale Object Error')));
    expect(f.type).toBe(FailureType.staleObject);
    expect(f.nonRetryable).toBe(false);
  });

  it('429 waits the documented 60 s before retrying, also for the XML throttle fault', () => {
    const json = classifyApiError('qbo', httpError(429, fault('3001', 'ThrottleExceeded')));
    expect(json.type).toBe(FailureType.rateLimited);
    expect(json.nextRetryDelay).toBe(60_000);
    const xml = classifyApiError(
      'qbo',
      httpError(
        429,
        '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded</Message></Error></Fault>',
      ),
    );
    expect(xml.details?.[0]).toMatchObject({ code: '3001' });
    const sm8 = classifyApiError(
      'sm8',
      httpError(429, { errorCode: 429, message: 'Number of allowed API requests per minute exceeded' }),
    );
    expect(sm8.type).toBe(FailureType.rateLimited);
    expect(sm8.message).toContain('per minute exceeded');
  });

  it('5xx and network errors are transient and retryable', () => {
    expect(classifyApiError('sm8', httpError(503, 'unavailable')).type).toBe(FailureType.transient);
    const net = new AxiosError('socket hang up', 'ECONNRESET', { headers: new AxiosHeaders() });
    const f = classifyApiError('qbo', net);
    expect(f.type).toBe(FailureType.transient);
    expect(f.nonRetryable).toBe(false);
  });

  it('the lower-case 401 fault (after a refresh already failed) means the connection needs re-authorisation', () => {
    const f = classifyApiError(
      'qbo',
      httpError(401, {
        fault: { error: [{ message: 'message=AuthenticationFailed', code: '3200' }], type: 'AUTHENTICATION' },
      }),
    );
    expect(f.type).toBe(FailureType.needsReauth);
    expect(f.nonRetryable).toBe(true);
    expect(f.details?.[0]).toMatchObject({ code: '3200' });
  });

  it('SM8 400 is a validation failure with its message; 404 is not found', () => {
    const f = classifyApiError('sm8', httpError(400, { errorCode: '1000', message: 'status is required' }));
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(FailureType.validation);
    expect(f.message).toContain('status is required');
    expect(
      classifyApiError('sm8', httpError(404, { errorCode: 404, message: 'Resource not found.' })).type,
    ).toBe(FailureType.notFound);
  });
});
