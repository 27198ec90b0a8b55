/** Kinds of personal data the built-in detector finds; configurable rules add their own. */
export type PiiKind = "email" | "phone" | "card" | "iban" | "ip" | "url" | (string & {});

/** One piece of personal data found in a text: `text.slice(start, end) === value`. */
export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
  value: string;
}

/**
 * Finds personal data in text. The built-in one (`createDefaultPiiDetector`) is composed from
 * validator, libphonenumber-js and ibantools plus configured patterns; others plug in (an
 * adapter to Microsoft Presidio's analyzer, say). `describePiiDetector()` checks one.
 * Matches do not overlap and come in text order.
 */
export interface PiiDetector {
  /** A stable name for reports, e.g. "default". */
  readonly name: string;
  /** The kinds it can find. */
  readonly kinds: readonly PiiKind[];
  detect(text: string): PiiMatch[] | Promise<PiiMatch[]>;
}
