import { electronicFormatIBAN, isValidIBAN } from "ibantools";
import { type CountryCode, findPhoneNumbersInText } from "libphonenumber-js";
import validator from "validator";
import type { PiiDetector, PiiKind, PiiMatch } from "../contracts/pii-detector.js";
import { ErrorCodes, OptimizerError } from "../errors.js";

/** A pattern for a kind the libraries do not know (a national id, an employee number). */
export interface PiiRule {
  /** The kind it finds, e.g. "ssn"; becomes the token's name ([SSN_1]). */
  kind: string;
  /** A regular expression (JavaScript syntax, no flags: "g" is added). */
  pattern: string;
}

export interface DefaultPiiDetectorOptions {
  /** Kinds to look for. Default: every built-in kind and every rule's. */
  kinds?: readonly PiiKind[];
  /** Region for phone numbers written without a country code. Default "US". */
  defaultRegion?: string;
  /** Patterns for more kinds. Default: none. */
  rules?: readonly PiiRule[];
}

const BUILT_IN: readonly PiiKind[] = ["email", "phone", "card", "iban", "ip", "url"];

// Candidates: cheap, generous regular expressions; the libraries decide what is real.
const CANDIDATES: Record<string, RegExp> = {
  email: /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.[A-Za-z]{2,}/g,
  card: /\b\d(?:[ -]?\d){12,18}\b/g,
  iban: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g,
  ip: /\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b/g,
  url: /\bhttps?:\/\/[^\s<>"'`]+/g,
};

const CHECKS: Record<string, (candidate: string) => boolean> = {
  email: (c) => validator.isEmail(c),
  card: (c) => validator.isCreditCard(c.replace(/[ -]/g, "")),
  iban: (c) => isValidIBAN(electronicFormatIBAN(c) ?? ""),
  ip: (c) => validator.isIP(c),
  url: (c) => validator.isURL(c, { require_protocol: true }),
};

/**
 * The built-in detector: e-mail addresses and URLs (validator), phone numbers
 * (libphonenumber-js, with a default region), payment cards with a valid Luhn sum
 * (validator), IBANs with a valid checksum (ibantools), IP addresses (validator), and
 * configured patterns. Overlaps resolve to the earliest, then the longest match.
 */
/** The built-in detector: synchronous. */
export interface DefaultPiiDetector extends PiiDetector {
  detect(text: string): PiiMatch[];
}

export function createDefaultPiiDetector(
  options: DefaultPiiDetectorOptions = {},
): DefaultPiiDetector {
  const rules = (options.rules ?? []).map(compileRule);
  const all = [...BUILT_IN, ...rules.map((r) => r.kind)];
  const kinds = options.kinds ?? all;
  for (const kind of kinds) {
    if (!all.includes(kind)) {
      throw new OptimizerError(
        ErrorCodes.INVALID_CONFIG,
        `The PII kind "${kind}" is unknown; known: ${all.join(", ")} (add a rule for others).`,
      );
    }
  }
  const region = (options.defaultRegion ?? "US").toUpperCase() as CountryCode;
  const wanted = new Set(kinds);
  return {
    name: "default",
    kinds,
    detect(text: string): PiiMatch[] {
      const found: PiiMatch[] = [];
      for (const kind of wanted) {
        const candidates = CANDIDATES[kind];
        const check = CHECKS[kind];
        if (candidates && check) {
          for (const m of text.matchAll(candidates)) {
            const value = trimPunctuation(m[0]);
            if (check(value))
              found.push({ kind, start: m.index, end: m.index + value.length, value });
          }
        }
      }
      if (wanted.has("phone")) {
        for (const p of findPhoneNumbersInText(text, region)) {
          found.push({
            kind: "phone",
            start: p.startsAt,
            end: p.endsAt,
            value: text.slice(p.startsAt, p.endsAt),
          });
        }
      }
      for (const rule of rules) {
        if (!wanted.has(rule.kind)) continue;
        for (const m of text.matchAll(rule.regex)) {
          if (m[0].length > 0)
            found.push({
              kind: rule.kind,
              start: m.index,
              end: m.index + m[0].length,
              value: m[0],
            });
        }
      }
      return withoutOverlaps(found);
    },
  };
}

function compileRule(rule: PiiRule): PiiRule & { regex: RegExp } {
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(rule.kind)) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `A PII rule's kind is 1-32 lowercase letters, digits or _, starting with a letter; got ${JSON.stringify(rule.kind)}.`,
    );
  }
  try {
    return { ...rule, regex: new RegExp(rule.pattern, "g") };
  } catch (error) {
    throw new OptimizerError(
      ErrorCodes.INVALID_CONFIG,
      `The PII rule "${rule.kind}" has an invalid pattern: ${(error as Error).message}.`,
    );
  }
}

/** "a@b.com." at the end of a sentence: the dot is not part of the address. */
function trimPunctuation(value: string): string {
  return value.replace(/[.,;:!?)\]}]+$/, "");
}

function withoutOverlaps(found: PiiMatch[]): PiiMatch[] {
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiMatch[] = [];
  let end = -1;
  for (const m of found) {
    if (m.start < end) continue;
    out.push(m);
    end = m.end;
  }
  return out;
}
