export { Authenticator, type AuthParts } from "./auth.js";
export { type BuiltRequest, buildRequest } from "./build-request.js";
export { type LoadDocumentOptions, loadDocument, type OpenApiDocument } from "./load-document.js";
export {
  isOpenApiServerConfig,
  type OpenApiAuth,
  OpenApiAuthSchema,
  type OpenApiServerConfig,
  OpenApiServerConfigSchema,
  type ResolveOpenApiConfigOptions,
  resolveOpenApiConfig,
} from "./openapi-config.js";
export {
  createOpenApiUpstream,
  OpenApiUpstream,
  type OpenApiUpstreamOptions,
} from "./openapi-upstream.js";
export {
  annotationsFor,
  nameFromRoute,
  type OpenApiOperation,
  type OperationParameter,
  operationsToTools,
} from "./operations-to-tools.js";
