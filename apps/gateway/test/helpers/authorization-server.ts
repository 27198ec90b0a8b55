import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider from "oidc-provider";

/** A client of the test authorization server: client credentials, its tenant in every token. */
export interface TestClient {
  clientId: string;
  secret: string;
  /** The `tenant` claim its tokens carry (none when undefined). */
  tenant?: string;
  /** Access token lifetime in seconds. Default 600. */
  ttlSeconds?: number;
}

export interface AuthorizationServer {
  issuer: string;
  /** An access token (a JWT) for the client and resource, from the token endpoint. */
  token(clientId: string, resource: string): Promise<string>;
  close(): Promise<void>;
}

/** An RS256 signing key as a private JWK with a key id (share it to make two issuers sign alike). */
export async function signingKey(kid = "test-key-1"): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
}

/**
 * A real OAuth 2.1 authorization server (oidc-provider, from npm) on a loopback port: client
 * credentials grant, resource indicators (RFC 8707: the token's `aud` is the resource asked
 * for), JWT access tokens signed RS256, a `tenant` claim from the client's metadata.
 */
export async function startAuthorizationServer(options: {
  clients: TestClient[];
  key: JWK;
}): Promise<AuthorizationServer> {
  const byId = new Map(options.clients.map((c) => [c.clientId, c]));
  // The issuer needs the port: listen first, then mount the provider.
  const { createServer } = await import("node:http");
  let handler: ((req: unknown, res: unknown) => void) | undefined;
  const server: Server = createServer((req, res) => handler?.(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.secret,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: "client_secret_basic",
    })),
    jwks: { keys: [options.key] },
    ttl: {
      ClientCredentials: (_ctx: unknown, _token: unknown, client: { clientId: string }) =>
        byId.get(client.clientId)?.ttlSeconds ?? 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined as never,
        getResourceServerInfo: (_ctx: unknown, resource: string, client: { clientId: string }) => ({
          scope: "mcp",
          audience: resource,
          accessTokenFormat: "jwt",
          accessTokenTTL: byId.get(client.clientId)?.ttlSeconds ?? 600,
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string }) => {
      const tenant = token.clientId ? byId.get(token.clientId)?.tenant : undefined;
      return tenant ? { tenant } : {};
    },
  });
  handler = provider.callback();
  return {
    issuer,
    async token(clientId, resource) {
      const client = byId.get(clientId);
      if (!client) throw new Error(`no test client ${clientId}`);
      const response = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ grant_type: "client_credentials", resource, scope: "mcp" }),
      });
      const body = (await response.json()) as { access_token?: string; error_description?: string };
      if (!response.ok || !body.access_token)
        throw new Error(`token endpoint said ${response.status}: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
