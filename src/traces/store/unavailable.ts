// Errors that mean "PostgreSQL is not there right now" (as opposed to a bad statement or bad data):
// the client's own connection errors, the socket's, and the server's SQLSTATE classes 08 (connection
// exception), 57P (shutting down, starting up) and 53 (out of connections or resources).
const CLIENT_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Whether `err` says the trace store's server is away (retry later) rather than that the request was bad. */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return CLIENT_CODES.has(code) || code.startsWith('08') || code.startsWith('57P') || code.startsWith('53');
}
