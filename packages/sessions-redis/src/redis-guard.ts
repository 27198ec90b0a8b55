import type { RedisClient } from "./redis-connection.js";
import { toStoreError, unavailable } from "./redis-errors.js";

export interface RedisGuardOptions {
  /** Names the component in messages: "Session store", "Call cache". */
  label: string;
  /** Where the client points, for messages (host:port, never credentials). */
  address: string;
  /** How long the first connection (or a reconnection's handshake) may take, in ms. */
  connectTimeoutMs: number;
  /** Longest wait for one reply, in ms. */
  commandTimeoutMs: number;
}

/**
 * The fail-fast rules every Redis-backed part of this package shares: before the first
 * connection, and while a reconnection handshakes, work waits for it (up to connectTimeoutMs);
 * otherwise work fails at once while Redis is away (the client reconnects in the background),
 * a reply slower than commandTimeoutMs fails, and every failure becomes core's error family
 * (SESSION_STORE_UNAVAILABLE naming the address, SESSION_CORRUPT, ...).
 */
export class RedisGuard {
  private everReady: boolean;
  private nextReady: Promise<void> | undefined;
  private lastError: string | undefined;
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisGuardOptions,
  ) {
    this.everReady = client.status === "ready";
    client.on("ready", this.onReady);
    // Without a listener ioredis prints every failed reconnect; failures are reported here.
    client.on("error", this.onError);
  }

  /** Runs Redis work under the rules above. */
  async run<T>(what: string, work: () => Promise<T>): Promise<T> {
    const label = `${this.options.label} ${what}`;
    const { address, commandTimeoutMs } = this.options;
    if (this.closed)
      throw unavailable(label, `the ${this.options.label.toLowerCase()} is closed`, address);
    await this.whenReady(label);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(unavailable(label, `no reply within ${commandTimeoutMs} ms`, address)),
            commandTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      throw toStoreError(error, label, address);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Refuses further work and leaves no listener on the client (it may be the caller's). */
  close(): void {
    this.closed = true;
    this.client.off("ready", this.onReady);
    this.client.off("error", this.onError);
  }

  private readonly onReady = () => {
    this.everReady = true;
    this.lastError = undefined;
  };

  private readonly onError = (error: Error) => {
    this.lastError = error.message;
  };

  private async whenReady(label: string): Promise<void> {
    const { client } = this;
    const { address, connectTimeoutMs } = this.options;
    if (client.status === "ready") return;
    // A client made with lazyConnect connects on its first command, which is only sent once
    // ready: start the connection here.
    if (client.status === "wait") client.connect().catch(() => {});
    // "connect": the socket is up and the handshake runs; worth the short wait.
    const handshaking = client.status === "connect";
    if (client.status === "end" || (this.everReady && !handshaking)) {
      throw unavailable(label, this.lastError ?? `connection ${client.status}`, address);
    }
    if (!this.nextReady) {
      this.nextReady = new Promise<void>((resolve, reject) => {
        const onReady = () => {
          client.off("close", onClose);
          resolve();
        };
        // A failed attempt: the first connection keeps waiting (ioredis retries), a
        // reconnection gives up at once.
        const onClose = () => {
          if (!this.everReady && client.status !== "end") return;
          client.off("ready", onReady);
          client.off("close", onClose);
          reject(new Error("connection closed"));
        };
        client.once("ready", onReady);
        client.on("close", onClose);
      }).finally(() => {
        this.nextReady = undefined;
      });
      this.nextReady.catch(() => {});
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.nextReady,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not connected within ${connectTimeoutMs} ms`)),
            connectTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      const why = (error as Error).message;
      throw unavailable(label, this.lastError ? `${why}: ${this.lastError}` : why, address);
    } finally {
      clearTimeout(timer);
    }
  }
}
