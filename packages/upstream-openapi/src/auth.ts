import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import type { OpenApiAuth } from "./openapi-config.js";

/** What one request needs from authentication: headers and query parameters to add. */
export interface AuthParts {
  headers: Record<string, string>;
  query: Record<string, string>;
}

/** Applies the configured authentication; an OAuth token is fetched once and reused until it expires. */
export class Authenticator {
  private token: { value: string; expiresAt: number } | undefined;
  private fetching: Promise<string> | undefined;

  constructor(
    private readonly auth: OpenApiAuth | undefined,
    private readonly timeoutMs: number,
  ) {}

  async parts(): Promise<AuthParts> {
    const auth = this.auth;
    if (!auth) return { headers: {}, query: {} };
    switch (auth.type) {
      case "bearer":
        return { headers: { authorization: `Bearer ${auth.token}` }, query: {} };
      case "apiKey":
        return auth.in === "header"
          ? { headers: { [auth.name.toLowerCase()]: auth.value }, query: {} }
          : { headers: {}, query: { [auth.name]: auth.value } };
      case "basic":
        return {
          headers: {
            authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
          },
          query: {},
        };
      case "oauth2":
        return { headers: { authorization: `Bearer ${await this.oauthToken()}` }, query: {} };
    }
  }

  /** After a 401: forget a cached OAuth token so the next request fetches a new one. True when one was dropped. */
  invalidate(): boolean {
    if (this.auth?.type !== "oauth2" || !this.token) return false;
    this.token = undefined;
    return true;
  }

  private oauthToken(): Promise<string> {
    if (this.token && Date.now() < this.token.expiresAt) return Promise.resolve(this.token.value);
    this.fetching ??= this.fetchToken().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  /** The client-credentials grant (RFC 6749 4.4), client authenticated with HTTP Basic. */
  private async fetchToken(): Promise<string> {
    const auth = this.auth as Extract<OpenApiAuth, { type: "oauth2" }>;
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (auth.scopes?.length) form.set("scope", auth.scopes.join(" "));
    if (auth.audience) form.set("audience", auth.audience);
    const basic = Buffer.from(
      `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`,
    ).toString("base64");
    let response: Response;
    try {
      response = await fetch(auth.tokenUrl, {
        method: "POST",
        headers: {
          authorization: `Basic ${basic}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: form,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new OptimizerError(
        ErrorCodes.UPSTREAM_UNAVAILABLE,
        `The OAuth token endpoint ${auth.tokenUrl} cannot be reached: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {}
    if (!response.ok || typeof body.access_token !== "string") {
      const reason =
        typeof body.error === "string"
          ? body.error
          : `HTTP ${response.status} ${text.slice(0, 200)}`;
      throw new OptimizerError(
        response.status >= 500 ? ErrorCodes.UPSTREAM_UNAVAILABLE : ErrorCodes.INVALID_CONFIG,
        `The OAuth token endpoint ${auth.tokenUrl} refused the client credentials: ${reason}. Check auth.clientId, auth.clientSecret and auth.scopes.`,
        { details: { status: response.status } },
      );
    }
    const lifetime = typeof body.expires_in === "number" ? body.expires_in : 3600;
    // Renew a little early so a request never carries a token that expires in flight.
    this.token = {
      value: body.access_token,
      expiresAt: Date.now() + Math.max(0, lifetime - 30) * 1000,
    };
    return body.access_token;
  }
}
