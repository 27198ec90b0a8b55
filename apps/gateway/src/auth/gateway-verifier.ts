import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
} from "@modelcontextprotocol/server";
import { isApiKey } from "./api-key-verifier.js";

export interface GatewayVerifierOptions {
  /** Verifies bearer JWTs (auth.oauth). Default: JWTs are refused. */
  jwt?: OAuthTokenVerifier;
  /** Verifies API keys (auth.apiKeys). Default: API keys are refused. */
  apiKeys?: OAuthTokenVerifier;
}

/** One verifier for the access check: API keys (mcpo_...) to theirs, everything else to the JWT one. */
export function createGatewayVerifier(options: GatewayVerifierOptions): OAuthTokenVerifier {
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      if (isApiKey(token)) {
        if (!options.apiKeys)
          throw new OAuthError(OAuthErrorCode.InvalidToken, "API keys are not accepted here.");
        return options.apiKeys.verifyAccessToken(token);
      }
      if (!options.jwt)
        throw new OAuthError(OAuthErrorCode.InvalidToken, "Unknown or revoked API key.");
      return options.jwt.verifyAccessToken(token);
    },
  };
}
