import { errorForStatus, type HttpResponse } from 'omnigate/sdk';

/** Throws the typed error for a DRF error reply ({"detail": …} or field errors). */
export function raiseForDrfError(reply: HttpResponse, what: string): never {
  const body = reply.body as { detail?: unknown } | undefined;
  const reason = typeof body?.detail === 'string' ? body.detail : JSON.stringify(reply.body ?? `status ${reply.status}`);
  throw errorForStatus(reply.status, `crm: ${what}: ${reason}`);
}
