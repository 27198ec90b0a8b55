import type { ParseArgsOptionsConfig } from "node:util";
import type { Io } from "./io.js";

export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandArgs {
  values: FlagValues;
  positionals: string[];
  io: Io;
  /** The --config flag. */
  config: string | undefined;
}

/** One subcommand: its flags, its help text and what it does. Resolves to the exit code. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full --help text. */
  help: string;
  options: ParseArgsOptionsConfig;
  /** Positional arguments: the most allowed (Infinity for any number). */
  maxPositionals: number;
  run(args: CommandArgs): Promise<number>;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function boolFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

export function listFlag(values: FlagValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return typeof v === "string" ? [v] : [];
}
