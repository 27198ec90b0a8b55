import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import Docker from "dockerode";

/**
 * Where the Docker engine is. A string is a `DOCKER_HOST`-style URL: `unix:///var/run/docker.sock`,
 * `tcp://host:2376` (TLS when `ca`/`cert`/`key` are given or the port is 2376),
 * `ssh://user@host`. Without one, `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`
 * apply, then the local socket.
 */
export interface DockerEndpoint {
  /** Unix socket (or Windows named pipe) of a local engine. */
  socketPath?: string;
  /** Host name or address of a TCP or SSH engine. */
  host?: string;
  /** Port of a TCP or SSH engine. */
  port?: number | string;
  /** "http" (plain TCP), "https" (TCP with TLS) or "ssh". */
  protocol?: "http" | "https" | "ssh";
  /** TLS: the CA that signed the engine's certificate (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** TLS: the client certificate (PEM). */
  cert?: string | Buffer;
  /** TLS: the client key (PEM). */
  key?: string | Buffer;
  /** SSH: the user to log in as. */
  username?: string;
  /** SSH: options for the ssh2 client (agent, privateKey, ...). */
  sshOptions?: Record<string, unknown>;
}

export function dockerClient(endpoint: string | DockerEndpoint | undefined): Docker {
  if (endpoint === undefined) return new Docker();
  let options = typeof endpoint === "string" ? parseEndpoint(endpoint) : endpoint;
  // docker-modem takes the ssh agent from the environment only for DOCKER_HOST; do the same here.
  if (
    options.protocol === "ssh" &&
    options.sshOptions?.agent === undefined &&
    process.env.SSH_AUTH_SOCK
  ) {
    options = {
      ...options,
      sshOptions: { ...options.sshOptions, agent: process.env.SSH_AUTH_SOCK },
    };
  }
  // docker-modem lays what DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) says under
  // explicit options: its host would win over a socketPath, and its protocol (https, ssh),
  // port, TLS files or user would be used with an explicit address. Clear them all.
  const fromEnv = {
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    username: undefined,
    pathPrefix: undefined,
  };
  return new Docker({ ...fromEnv, ...options } as Docker.DockerOptions);
}

function parseEndpoint(value: string): DockerEndpoint {
  if (value.startsWith("unix://")) return { socketPath: value.slice("unix://".length) };
  if (value.startsWith("npipe://")) return { socketPath: value.slice("npipe://".length) };
  if (value.startsWith("/")) return { socketPath: value };
  let url: URL;
  try {
    url = new URL(value.includes("://") ? value : `tcp://${value}`);
  } catch {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `docker: ${JSON.stringify(value)} is not an engine address; use unix:///path, tcp://host:port or ssh://user@host.`,
    );
  }
  const host = url.hostname;
  if (url.protocol === "ssh:") {
    return {
      protocol: "ssh",
      host,
      port: url.port || 22,
      username: decodeURIComponent(url.username),
    };
  }
  if (url.protocol === "tcp:" || url.protocol === "http:" || url.protocol === "https:") {
    const port = url.port || (url.protocol === "https:" ? "2376" : "2375");
    const tls = url.protocol === "https:" || port === "2376";
    return { protocol: tls ? "https" : "http", host, port };
  }
  throw new OptimizerError(
    ErrorCodes.INVALID_CONFIG,
    `docker: unsupported scheme ${url.protocol} in ${JSON.stringify(value)}; use unix://, tcp://, https:// or ssh://.`,
  );
}

/** The engine address for messages, without credentials. */
export function describeEndpoint(endpoint: string | DockerEndpoint | undefined): string {
  if (typeof endpoint === "string") return withoutCredentials(endpoint);
  if (endpoint?.socketPath) return `unix://${endpoint.socketPath}`;
  if (endpoint?.host) {
    const scheme =
      endpoint.protocol === "ssh" ? "ssh" : endpoint.protocol === "https" ? "tcp+tls" : "tcp";
    return `${scheme}://${endpoint.host}${endpoint.port ? `:${endpoint.port}` : ""}`;
  }
  return process.env.DOCKER_HOST
    ? `DOCKER_HOST=${withoutCredentials(process.env.DOCKER_HOST)}`
    : "unix:///var/run/docker.sock";
}

/** `ssh://user:secret@host` -> `ssh://host`: user info never reaches a message or a log. */
function withoutCredentials(address: string): string {
  return address.replace(/\/\/[^@/]*@/, "//");
}

/** The HTTP status of a dockerode error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** An engine that cannot be reached or refused a request, as SANDBOX_UNAVAILABLE with the fix. */
export function engineUnavailable(error: unknown, endpoint: string, doing: string): OptimizerError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const unreachable =
    typeof code === "string" &&
    /^(ENOENT|ECONNREFUSED|EACCES|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|ENOTFOUND)$/.test(code);
  const hint = unreachable
    ? ` Start a Docker engine (dockerd, Docker Desktop) or point DOCKER_HOST / the "docker" option at one.`
    : "";
  return new OptimizerError(
    ErrorCodes.SANDBOX_UNAVAILABLE,
    `Docker engine at ${endpoint}: ${doing} failed: ${message.trim()}.${hint}`,
    { cause: error, details: { endpoint, ...(typeof code === "string" ? { errno: code } : {}) } },
  );
}
