#!/usr/bin/env node
import { main } from "./main.js";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Upstream children and sockets are closed by now; leave anyway so a stray handle cannot hang the shell.
setTimeout(() => process.exit(code), 2000).unref();
