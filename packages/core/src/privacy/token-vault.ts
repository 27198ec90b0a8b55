import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { EntryStore } from "../contracts/entry-store.js";
import { ErrorCodes, OptimizerError } from "../errors.js";
import type { JsonValue } from "../json.js";

/** One value the vault holds: personal data found at egress, or a sensitive value a tool returned. */
export interface VaultEntry {
  /** "[EMAIL_1]", "[SENSITIVE_3]". */
  token: string;
  /** "email", "phone", ..., or "sensitive". */
  kind: string;
  value: string;
  /** For sensitive values: the tool it came from ("hr.get_employee"). */
  source?: string;
}

interface StoredVault {
  v: 1;
  next: Record<string, number>;
  /** [token, kind, value (sealed when a key is set), source or ""]. */
  entries: [string, string, string, string][];
}

const VAULT_KEY = "vault";

/** Scope of a session's vault in the entry store. */
export function vaultScope(sessionId: string): string {
  return `privacy:${sessionId}`;
}

/**
 * A session's tokens: the same value always gets the same token, a token always means the
 * same value. Kept in the session store's entries (sealed with AES-256-GCM when a key is
 * configured), read once per execution when first needed and written back when it changed.
 * The mapping never goes to a log, an audit record or the model.
 */
export class TokenVault {
  private readonly byToken = new Map<string, VaultEntry>();
  private readonly byValue = new Map<string, VaultEntry>();
  private readonly next = new Map<string, number>();
  private version = 0;
  private changed = false;

  private constructor(
    private readonly store: EntryStore,
    private readonly scope: string,
    private readonly key: Buffer | undefined,
  ) {}

  static async load(store: EntryStore, sessionId: string, secret?: string): Promise<TokenVault> {
    const key = secret ? createHash("sha256").update(secret).digest() : undefined;
    const vault = new TokenVault(store, vaultScope(sessionId), key);
    const entry = await store.get(vault.scope, VAULT_KEY);
    if (entry) vault.read(entry.value, entry.version);
    return vault;
  }

  /** The token of a value, made when it has none: "[EMAIL_1]". */
  tokenFor(kind: string, value: string, source?: string): string {
    const known = this.byValue.get(value);
    if (known) return known.token;
    const name = kind.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
    const n = (this.next.get(name) ?? 0) + 1;
    this.next.set(name, n);
    const entry: VaultEntry = {
      token: `[${name}_${n}]`,
      kind,
      value,
      ...(source ? { source } : {}),
    };
    this.add(entry);
    this.changed = true;
    return entry.token;
  }

  /** What a token stands for, if this session made it. */
  entry(token: string): VaultEntry | undefined {
    return this.byToken.get(token);
  }

  /** What a value's token is, if it has one. */
  lookup(value: string): VaultEntry | undefined {
    return this.byValue.get(value);
  }

  all(): VaultEntry[] {
    return [...this.byToken.values()];
  }

  get size(): number {
    return this.byToken.size;
  }

  /** Writes the vault back when it changed, to live as long as the session (`ttlMs`). */
  async save(ttlMs: number): Promise<void> {
    if (!this.changed) return;
    const stored: StoredVault = {
      v: 1,
      next: Object.fromEntries(this.next),
      entries: this.all().map((e) => [e.token, e.kind, this.seal(e.value), e.source ?? ""]),
    };
    // One execution of a session at a time (the lease): the version check catches a bug, not a race.
    const written = await this.store.set(this.scope, VAULT_KEY, stored as unknown as JsonValue, {
      ttlMs,
      expectedVersion: this.version,
    });
    this.version = written.version;
    this.changed = false;
  }

  private read(value: JsonValue, version: number): void {
    const stored = value as unknown as StoredVault;
    if (stored?.v !== 1 || !Array.isArray(stored.entries)) {
      throw new OptimizerError(
        ErrorCodes.SESSION_CORRUPT,
        "The session's token vault is in a form this release cannot read; delete the session.",
      );
    }
    for (const [name, n] of Object.entries(stored.next)) this.next.set(name, n);
    for (const [token, kind, sealed, source] of stored.entries) {
      this.add({ token, kind, value: this.open(sealed), ...(source ? { source } : {}) });
    }
    this.version = version;
  }

  private add(entry: VaultEntry): void {
    this.byToken.set(entry.token, entry);
    this.byValue.set(entry.value, entry);
  }

  private seal(value: string): string {
    if (!this.key) return value;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), data]).toString("base64");
  }

  private open(sealed: string): string {
    if (!this.key) return sealed;
    try {
      const raw = Buffer.from(sealed, "base64");
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    } catch {
      throw new OptimizerError(
        ErrorCodes.SESSION_CORRUPT,
        "The session's token vault cannot be opened with privacy.vaultKey (a changed key?); delete the session or restore the key.",
      );
    }
  }
}
