import { getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/server";

export interface ProtectedResourceMetadata {
  /** Where the document is served (what 401 challenges point to). */
  url: string;
  /** The paths it is served at: RFC 9728's path-aware one and the bare well-known one. */
  paths: string[];
  /** The RFC 9728 document. */
  document: Record<string, unknown>;
}

/**
 * The Protected Resource Metadata (RFC 9728) of the MCP endpoint: which authorization server
 * issues tokens for it, so that a client answered 401 can find where to get one.
 */
export function protectedResourceMetadata(options: {
  publicUrl: URL;
  issuer: string;
  scopes?: string[];
}): ProtectedResourceMetadata {
  const url = getOAuthProtectedResourceMetadataUrl(options.publicUrl);
  return {
    url,
    paths: [...new Set([new URL(url).pathname, "/.well-known/oauth-protected-resource"])],
    document: {
      resource: options.publicUrl.href,
      authorization_servers: [options.issuer],
      bearer_methods_supported: ["header"],
      ...(options.scopes?.length ? { scopes_supported: options.scopes } : {}),
      resource_name: "MCP Optimizer gateway",
    },
  };
}
