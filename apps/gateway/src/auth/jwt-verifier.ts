import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
} from "@modelcontextprotocol/server";
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import { type GatewayIdentity, withIdentity } from "./identity.js";

export interface JwtVerifierOptions {
  /** The issuer (`iss`) tokens must carry, exactly. Required. */
  issuer: string;
  /** The audience (`aud`) tokens must carry: this resource's identifier. Required. */
  audience: string;
  /** The issuer's JWKS. Default: `jwks_uri` from the issuer's discovery document. */
  jwksUri?: string;
  /** Signature algorithms accepted. Default ["RS256", "PS256", "ES256", "EdDSA"]. */
  algorithms?: string[];
  /** Clock skew allowed, in seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Claim naming the tenant. Default "tenant". */
  tenantClaim?: string;
  /** Claim naming the principal. Default "sub". */
  principalClaim?: string;
  /** Tenant of tokens without the tenant claim. Default: refused. */
  defaultTenant?: string;
  /** Whether a tenant is served here; tokens for any other are refused. */
  isTenant: (name: string) => boolean;
  /** Timeout of a JWKS or discovery fetch in ms. Default 5000. */
  fetchTimeoutMs?: number;
}

export const DEFAULT_JWT_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"];

/**
 * Bearer JWTs checked as an OAuth 2.1 resource server must (jose): the signature against the
 * issuer's JWKS (a key id not in the set is looked up again once, then refused), `iss`
 * exactly, `aud` bound to this resource, `exp` (required) and `nbf` within the clock skew, and
 * an algorithm from the list (never `none`). The tenant and principal come from claims; a
 * token for a tenant not served here is refused. Refusals are `invalid_token` (401).
 */
export function createJwtVerifier(options: JwtVerifierOptions): OAuthTokenVerifier {
  const algorithms = options.algorithms ?? DEFAULT_JWT_ALGORITHMS;
  const tenantClaim = options.tenantClaim ?? "tenant";
  const principalClaim = options.principalClaim ?? "sub";
  const timeoutDuration = options.fetchTimeoutMs ?? 5000;
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keySet = () => {
    keys ??= jwksUrl(options, timeoutDuration)
      .then((url) => createRemoteJWKSet(url, { timeoutDuration }))
      .catch((error) => {
        keys = undefined; // asked again by the next token
        throw error;
      });
    return keys;
  };
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      let payload: JWTPayload;
      try {
        const jwks = await keySet();
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          clockTolerance: options.clockToleranceSeconds ?? 30,
          requiredClaims: ["exp"],
        }));
      } catch (error) {
        throw refusal(error);
      }
      const identity = identityFrom(payload, tenantClaim, principalClaim, options);
      return withIdentity(
        {
          token,
          clientId:
            stringClaim(payload, "client_id") ?? stringClaim(payload, "azp") ?? identity.principal,
          scopes: scopesOf(payload),
          expiresAt: payload.exp!,
          resource: new URL(options.audience),
        },
        identity,
      );
    },
  };
}

function identityFrom(
  payload: JWTPayload,
  tenantClaim: string,
  principalClaim: string,
  options: JwtVerifierOptions,
): GatewayIdentity {
  const tenant = stringClaim(payload, tenantClaim) ?? options.defaultTenant;
  if (tenant === undefined)
    throw invalidToken(`The token has no "${tenantClaim}" claim naming a tenant.`);
  if (!options.isTenant(tenant)) throw invalidToken("The token's tenant is not served here.");
  const principal = stringClaim(payload, principalClaim);
  if (principal === undefined)
    throw invalidToken(`The token has no "${principalClaim}" claim naming a principal.`);
  return { tenant, principal, via: "oauth" };
}

/** What jose refused, said without echoing the token. */
function refusal(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof errors.JWTExpired) return invalidToken("The token has expired.");
  if (error instanceof errors.JWTClaimValidationFailed)
    return invalidToken(
      `The token's "${error.claim}" claim is not accepted here (${error.reason}).`,
    );
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return invalidToken("The token's signature algorithm is not accepted.");
  if (error instanceof errors.JWKSNoMatchingKey)
    return invalidToken("The token is signed with a key the issuer does not publish.");
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalidToken("The token's signature does not verify.");
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return invalidToken("The token is not a valid signed JWT.");
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError) {
    return new OAuthError(
      OAuthErrorCode.ServerError,
      `The issuer's signing keys could not be read: ${(error as Error).message}`,
    );
  }
  return new OAuthError(
    OAuthErrorCode.ServerError,
    `The issuer's signing keys could not be read: ${(error as Error).message}`,
  );
}

function invalidToken(message: string): OAuthError {
  return new OAuthError(OAuthErrorCode.InvalidToken, message);
}

function stringClaim(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload.scope ?? payload.scp;
  if (typeof scope === "string") return scope.split(" ").filter(Boolean);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === "string");
  return [];
}

/** The configured JWKS URL, else `jwks_uri` from the issuer's OpenID or OAuth discovery document. */
async function jwksUrl(options: JwtVerifierOptions, timeoutMs: number): Promise<URL> {
  if (options.jwksUri) return new URL(options.jwksUri);
  const issuer = options.issuer.replace(/\/$/, "");
  const tried: string[] = [];
  for (const path of [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
  ]) {
    const url = `${issuer}${path}`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (response.ok) {
        const doc = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
        if (doc.issuer !== options.issuer && doc.issuer !== issuer) {
          tried.push(`${url}: names the issuer ${String(doc.issuer)}`);
          continue;
        }
        if (typeof doc.jwks_uri === "string") return new URL(doc.jwks_uri);
        tried.push(`${url}: no jwks_uri`);
      } else tried.push(`${url}: HTTP ${response.status}`);
    } catch (error) {
      tried.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new OAuthError(
    OAuthErrorCode.ServerError,
    `The issuer's signing keys could not be found (${tried.join("; ")}); set auth.oauth.jwksUri.`,
  );
}
