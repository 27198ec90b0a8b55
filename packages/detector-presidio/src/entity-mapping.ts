import type { PiiKind } from "@mcp-optimizer/core";

/** Presidio entity types whose kinds have another name in MCP Optimizer (the built-in detector's). */
const NAMED: Readonly<Record<string, PiiKind>> = {
  EMAIL_ADDRESS: "email",
  PHONE_NUMBER: "phone",
  CREDIT_CARD: "card",
  IBAN_CODE: "iban",
  IP_ADDRESS: "ip",
  URL: "url",
};

/**
 * The entity types asked for by default: those of Presidio's predefined recognizers for any
 * language, and the US and UK ones (a deployment with others names them in `entities`).
 */
export const PRESIDIO_DEFAULT_ENTITIES: readonly string[] = [
  "EMAIL_ADDRESS",
  "PHONE_NUMBER",
  "CREDIT_CARD",
  "IBAN_CODE",
  "IP_ADDRESS",
  "URL",
  "PERSON",
  "LOCATION",
  "NRP",
  "DATE_TIME",
  "CRYPTO",
  "MEDICAL_LICENSE",
  "US_SSN",
  "US_ITIN",
  "US_PASSPORT",
  "US_DRIVER_LICENSE",
  "US_BANK_NUMBER",
  "UK_NHS",
  "UK_NINO",
];

/** The kind a Presidio entity type becomes: EMAIL_ADDRESS is "email", US_SSN is "us_ssn". */
export function kindOfEntity(entity: string): PiiKind {
  return NAMED[entity] ?? entity.toLowerCase();
}

/** The Presidio entity type of a kind: "email" is EMAIL_ADDRESS, "us_ssn" is US_SSN. */
export function entityOfKind(kind: PiiKind): string {
  for (const [entity, named] of Object.entries(NAMED)) if (named === kind) return entity;
  return kind.toUpperCase();
}
