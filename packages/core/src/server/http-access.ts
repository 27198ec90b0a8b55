import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { hostHeaderValidation, originValidation } from "@modelcontextprotocol/node";
import {
  type AuthInfo,
  type BearerAuthOptions,
  bearerAuthChallengeResponse,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
  verifyBearerToken,
} from "@modelcontextprotocol/server";
import { ErrorCodes, OptimizerError } from "../errors.js";

export interface HttpAccessOptions {
  /** `Host` header hostnames accepted (DNS-rebinding protection), no ports; IPv6 in brackets. Default: see `resolveHttpAccess`. */
  allowedHosts?: string[];
  /** `Origin` hostnames accepted from browsers; requests without `Origin` pass. Default: see `resolveHttpAccess`. */
  allowedOrigins?: string[];
  /** Require `Authorization: Bearer <token>`, checked by this verifier (`createStaticTokenVerifier` for a shared secret). Default: none. */
  auth?: BearerAuthOptions;
  /** Listen beyond loopback without `auth`. Default false: refused with INVALID_CONFIG. */
  insecureNoAuth?: boolean;
}

/** The checks every HTTP request passes, with the defaults filled in. */
export interface ResolvedHttpAccess {
  allowedHosts: string[];
  allowedOrigins: string[];
  auth: BearerAuthOptions | undefined;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

function isWildcardHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return bare === "" || bare === "0.0.0.0" || bare === "::";
}

/** A hostname as the SDK's Host/Origin checks compare it: IPv6 in brackets, lower case. */
function asHostname(host: string): string {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return isIP(bare) === 6 ? `[${bare}]` : bare;
}

/**
 * The access rules for a server bound to `bindHost`. On loopback: only loopback names in
 * `Host` and no foreign `Origin` (a web page cannot rebind its name onto the server). Beyond
 * loopback: the configured lists (the bound address when it is one address; a wildcard bind
 * needs `allowedHosts`), no browser origin unless listed, and `auth` unless `insecureNoAuth`.
 */
export function resolveHttpAccess(
  bindHost: string,
  options: HttpAccessOptions,
): ResolvedHttpAccess {
  const loopback = isLoopbackHost(bindHost);
  if (!loopback && !options.auth && options.insecureNoAuth !== true) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `Refusing to serve on ${bindHost} without authentication: anyone who reaches the port could run programs against your servers. Set a bearer token (auth; the CLI's --auth-token-env VAR), bind to 127.0.0.1, or accept the risk with insecureNoAuth (--insecure-no-auth).`,
      { details: { host: bindHost } },
    );
  }
  let allowedHosts = options.allowedHosts?.map(asHostname);
  if (!allowedHosts) {
    if (loopback) allowedHosts = [...localhostAllowedHostnames(), asHostname(bindHost)];
    else if (!isWildcardHost(bindHost)) allowedHosts = [asHostname(bindHost)];
    else {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `Listening on every interface (${bindHost || "*"}) needs the names clients use to reach it: set allowedHosts (the CLI's --allowed-hosts name,...), which protects against DNS rebinding.`,
        { details: { host: bindHost } },
      );
    }
  }
  const allowedOrigins =
    options.allowedOrigins?.map(asHostname) ?? (loopback ? localhostAllowedOrigins() : []);
  return { allowedHosts: [...new Set(allowedHosts)], allowedOrigins, auth: options.auth };
}

/** What a request check decided: go on (with the verified token, if any), or already answered. */
export type HttpAccessDecision = { ok: true; authInfo?: AuthInfo } | { ok: false };

/**
 * A check for `node:http` requests: Host, then Origin (403 from the SDK's guards), then the
 * bearer token (401/403 with a `WWW-Authenticate` challenge from the SDK). When it answers
 * `{ ok: false }` the response has been written already.
 */
export function createHttpAccessCheck(
  access: ResolvedHttpAccess,
): (req: IncomingMessage, res: ServerResponse) => Promise<HttpAccessDecision> {
  const hostOk = hostHeaderValidation(access.allowedHosts);
  const originOk = originValidation(access.allowedOrigins);
  return async (req, res) => {
    if (!hostOk(req, res) || !originOk(req, res)) return { ok: false };
    if (!access.auth) return { ok: true };
    try {
      const header = req.headers.authorization;
      return { ok: true, authInfo: await verifyBearerToken(header, access.auth) };
    } catch (error) {
      const answer = bearerAuthChallengeResponse(error, access.auth);
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(await answer.text());
      return { ok: false };
    }
  };
}

export interface StaticTokenVerifierOptions {
  /** The accepted tokens (at least one, each at least 16 characters). Required. */
  tokens: readonly string[];
  /** `clientId` of the AuthInfo a valid token yields. Default "static-token". */
  clientId?: string;
  /** Scopes a valid token carries. Default none. */
  scopes?: string[];
}

/** Shortest shared secret accepted: guessing must not be practical. */
export const MIN_STATIC_TOKEN_LENGTH = 16;

/**
 * An OAuthTokenVerifier for shared secrets (the CLI server's `--auth-token-env`): a token is
 * valid when it equals one of `tokens`, compared in constant time. Pass it as `auth.verifier`;
 * an OAuth deployment passes its own verifier to the same option.
 */
export function createStaticTokenVerifier(options: StaticTokenVerifierOptions): OAuthTokenVerifier {
  if (options.tokens.length === 0) {
    throw new OptimizerError(ErrorCodes.INVALID_CONFIG, "A static token verifier needs a token.");
  }
  for (const token of options.tokens) {
    if (token.length < MIN_STATIC_TOKEN_LENGTH || /\s/.test(token)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `A bearer token is at least ${MIN_STATIC_TOKEN_LENGTH} characters without spaces (e.g. \`openssl rand -hex 32\`).`,
      );
    }
  }
  // Digests have one length, so comparing them in constant time says nothing about the token.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  const accepted = options.tokens.map(digest);
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      const given = digest(token);
      if (!accepted.some((d) => timingSafeEqual(d, given))) {
        throw new OAuthError(OAuthErrorCode.InvalidToken, "Invalid bearer token");
      }
      return {
        token,
        clientId: options.clientId ?? "static-token",
        scopes: options.scopes ?? [],
        // A shared secret does not expire; the SDK's check wants a time, so: an hour from now.
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      };
    },
  };
}
