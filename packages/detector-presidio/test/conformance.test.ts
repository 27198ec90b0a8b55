import { describePiiDetector } from "@mcp-optimizer/core/testing";
import { afterAll, beforeAll } from "vitest";
import { createPresidioDetector } from "../src/index.js";
import { type PresidioServer, startPresidioServer } from "./helpers/presidio-server.js";

let presidio: PresidioServer;
beforeAll(async () => {
  presidio = await startPresidioServer();
});
afterAll(() => presidio?.close());

// The kit over real HTTP, against a server speaking Presidio's analyzer API (no real Presidio runs here).
describePiiDetector("presidio (local analyzer API)", () =>
  createPresidioDetector({
    url: presidio.url,
    entities: [
      "EMAIL_ADDRESS",
      "PHONE_NUMBER",
      "CREDIT_CARD",
      "IBAN_CODE",
      "IP_ADDRESS",
      "URL",
      "PERSON",
    ],
    cacheSize: 0,
  }),
);
