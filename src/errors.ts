// One catalog of the errors a user can see. Each has a stable code and an HTTP
// status; the transport turns it into `{"Err": message}` and logs it once.

export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_OPTION'
  | 'NOT_FOUND'
  | 'GONE'
  | 'CONFLICT'
  | 'POOL_OVERLAP'
  | 'POOL_EXHAUSTED'
  | 'OUT_OF_RANGE'
  | 'ADDRESS_IN_USE'
  | 'KERNEL'
  | 'STORE';

const statusOf: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_OPTION: 400,
  NOT_FOUND: 404,
  // Not found where Docker would read a 404 as "not implemented, fine" (external connectivity).
  GONE: 410,
  CONFLICT: 409,
  POOL_OVERLAP: 409,
  POOL_EXHAUSTED: 409,
  OUT_OF_RANGE: 400,
  ADDRESS_IN_USE: 409,
  KERNEL: 500,
  STORE: 500,
};

export class TetherError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TetherError';
    this.status = statusOf[code];
  }
}

export const invalidOption = (message: string) => new TetherError('INVALID_OPTION', message);
export const notFound = (message: string) => new TetherError('NOT_FOUND', message);
export const conflict = (message: string) => new TetherError('CONFLICT', message);
