import { errorForStatus, type HttpResponse } from 'omnigate/sdk';

/** Throws the typed error for a Spring error reply ({timestamp,status,error,message,path}). */
export function raiseForSpringError(reply: HttpResponse, what: string): never {
  const body = reply.body as { message?: unknown; error?: unknown } | undefined;
  const reason = typeof body?.message === 'string' ? body.message : typeof body?.error === 'string' ? body.error : `status ${reply.status}`;
  throw errorForStatus(reply.status, `orders: ${what}: ${reason}`);
}
