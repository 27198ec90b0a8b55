import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { ErrorCodes, OptimizerError } from "@mcp-optimizer/core";
import { ExitCodes } from "../exit-codes.js";

/** Asks questions on stderr and reads answers line by line (a terminal or scripted stdin). */
export class Prompter {
  private readonly lines: AsyncIterator<string>;
  private readonly rl;

  constructor(
    input: Readable,
    private readonly output: Writable,
  ) {
    this.rl = createInterface({ input, terminal: false });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /**
   * Resolves to the answer, or the default on an empty line. End of input (Ctrl-D) before an
   * answer aborts: the caller writes nothing (exit 130, as for Ctrl-C).
   */
  async ask(question: string, fallback = ""): Promise<string> {
    this.output.write(`${question}${fallback ? ` [${fallback}]` : ""}: `);
    const next = await this.lines.next();
    if (next.done) {
      this.output.write("\n");
      throw new OptimizerError(
        ErrorCodes.INVALID_INPUT,
        "Aborted: the input ended (Ctrl-D) before every question was answered; nothing was written. Press Enter to take a default, or pass --yes to take them all.",
        { details: { exitCode: ExitCodes.INTERRUPTED } },
      );
    }
    const answer = next.value.trim();
    return answer === "" ? fallback : answer;
  }

  /**
   * Asks until `problem` finds nothing wrong with the answer (at most three times; the last
   * answer is returned as is, for the caller's own error).
   */
  async askChecked(
    question: string,
    fallback: string,
    problem: (answer: string) => string | undefined,
  ): Promise<string> {
    let answer = fallback;
    for (let attempt = 0; attempt < 3; attempt++) {
      answer = await this.ask(question, fallback);
      const wrong = problem(answer);
      if (!wrong) return answer;
      this.output.write(`  ${wrong}\n`);
    }
    return answer;
  }

  /** Asks until the answer is one of `choices` (at most three times). */
  async choose(question: string, choices: readonly string[], fallback: string): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await this.ask(`${question} (${choices.join(", ")})`, fallback);
      if (choices.includes(answer)) return answer;
      this.output.write(`  "${answer}" is not one of ${choices.join(", ")}.\n`);
    }
    return fallback;
  }

  close(): void {
    this.rl.close();
  }
}
