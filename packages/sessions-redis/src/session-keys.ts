import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";

const PREFIX = /^[A-Za-z0-9._:@/-]{0,64}$/;

/**
 * Key names. The session id sits in a hash tag (`{id}`), so every key of one session hashes
 * to one Cluster slot; ids cannot contain braces (core's id rule), prefixes are checked here.
 */
export class SessionKeys {
  readonly prefix: string;
  /** Pub/sub channel of this deployment's invalidations. */
  readonly channel: string;

  constructor(prefix: string) {
    if (!PREFIX.test(prefix)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `A key prefix is up to 64 characters of letters, digits and . _ : @ / - (no braces: they are Cluster hash tags); got ${JSON.stringify(prefix)}.`,
      );
    }
    this.prefix = prefix;
    this.channel = `${prefix}changes`;
  }

  /** The hash holding one session. */
  session(id: string): string {
    return `${this.prefix}s:{${id}}`;
  }

  /** The session's lease: "token holder", with the lease's TTL. */
  lease(id: string): string {
    return `${this.prefix}l:{${id}}`;
  }

  /** The session's fence counter: the token of its latest lease grant. */
  fence(id: string): string {
    return `${this.prefix}f:{${id}}`;
  }

  /** Executions waiting for the session's turn, by arrival. */
  line(id: string): string {
    return `${this.prefix}q:{${id}}`;
  }

  /** When each waiter in the line last asked (a waiter that stops asking leaves it). */
  lineSeen(id: string): string {
    return `${this.prefix}w:{${id}}`;
  }

  /** One entry of a scope (see core's EntryStore): a hash under the scope's hash tag. */
  entry(scope: string, key: string): string {
    return `${this.prefix}e:{${hex(scope)}}:${key}`;
  }

  /** The sorted set (score 0, ordered by key) listing one scope's entries. */
  entryIndex(scope: string): string {
    return `${this.prefix}ei:{${hex(scope)}}`;
  }

  /** The sorted set (score 0, ordered by id) listing one tenant's sessions. */
  tenant(tenant: string): string {
    // The tenant is hex-encoded: any string is a valid, brace-free key part.
    return `${this.prefix}t:${Buffer.from(tenant, "utf8").toString("hex")}`;
  }
}

/** Any string as a brace-free key part (braces would change the Cluster hash tag). */
function hex(text: string): string {
  return Buffer.from(text, "utf8").toString("hex");
}
