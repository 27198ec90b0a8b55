import type { AuthInfo } from "@modelcontextprotocol/server";

/** Who a request acts for, as authentication established it. Never holds a credential. */
export interface GatewayIdentity {
  /** A configured tenant. */
  tenant: string;
  /** The user or client within it (a token's `sub`, an API key's principal). */
  principal: string;
  /** How it was established. */
  via: "oauth" | "api-key" | "anonymous";
}

const KEY = "mcp-optimizer/gateway-identity";

/** AuthInfo carrying an identity (the verifiers' answer). */
export function withIdentity(info: Omit<AuthInfo, "extra">, identity: GatewayIdentity): AuthInfo {
  return { ...info, extra: { [KEY]: identity } };
}

/** The identity a verifier put on AuthInfo; undefined when there is none. */
export function identityOf(info: AuthInfo | undefined): GatewayIdentity | undefined {
  const identity = info?.extra?.[KEY];
  return identity && typeof identity === "object" ? (identity as GatewayIdentity) : undefined;
}
