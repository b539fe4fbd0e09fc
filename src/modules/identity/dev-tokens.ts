import { SignJWT } from 'jose';

/** What an agent token minted for development says. */
export interface MintAgentTokenInput {
  /** The HS256 secret the gateway is configured with (OMNIGATE_AGENT_JWT_SECRET). */
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
  /** The agent id: the key of the agent directory. */
  readonly sub: string;
  readonly role: 'agent' | 'supervisor';
  readonly ttlMs: number;
  /** The claim the gateway reads the role from (OMNIGATE_AGENT_ROLE_CLAIM); `role` by default. */
  readonly roleClaim?: string;
  readonly name?: string;
}

/**
 * An agent or supervisor JWT under a shared secret, as an identity provider would issue one:
 * for the demo and tests. Production agents get theirs from the identity provider.
 */
export async function mintAgentToken(input: MintAgentTokenInput): Promise<string> {
  const nowS = Math.floor(Date.now() / 1000);
  return new SignJWT({ [input.roleClaim ?? 'role']: input.role, ...(input.name === undefined ? {} : { name: input.name }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(input.issuer).setAudience(input.audience).setSubject(input.sub)
    .setIssuedAt(nowS).setExpirationTime(nowS + Math.max(1, Math.round(input.ttlMs / 1000)))
    .sign(new TextEncoder().encode(input.secret));
}
