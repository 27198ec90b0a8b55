#!/usr/bin/env node
// Builds engine/quickjs-runner.wasm: QuickJS from Debian's source package `quickjs`, pinned to
// the version below, plus this package's own runner (native/runner.c), compiled to wasm32-wasi
// with Debian's clang, lld and wasi-libc (.ci/setup/40-wasm-toolchain.sh installs them).
//
// The source is fetched with `apt-get source` under a private apt configuration (its own
// sources list, state, lists and cache folders below the build cache), so the machine's apt
// sources are never touched, and no third-party C source is ever committed.
//
// Usage: node scripts/build-engine.mjs [--force]   (skips the build when the .wasm exists)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const QUICKJS_PACKAGE = "quickjs";
const QUICKJS_VERSION = "2025.04.26-1";
const DEBIAN_SOURCES = "deb-src http://deb.debian.org/debian trixie main";
/** JS stack QuickJS may use; the linker reserves more shadow stack so the check fires first. */
const JS_STACK_BYTES = 256 * 1024;
const SHADOW_STACK_BYTES = 8 * 1024 * 1024;
/** Ceiling of the guest's linear memory (the JS limit sits below it, per run). */
const MAX_MEMORY_BYTES = 2048 * 1024 * 1024;
/**
 * Linear memory a guest starts with: the shadow stack, the data and room for a boot and a
 * typical run, so that neither grows the memory (runner.c's sbrk). Pages never touched cost
 * no resident memory.
 */
const INITIAL_MEMORY_BYTES = 16 * 1024 * 1024;

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const engineDir = join(packageDir, "engine");
const wasmPath = join(engineDir, "quickjs-runner.wasm");
const infoPath = join(engineDir, "engine.json");
const licensePath = join(engineDir, "QUICKJS-LICENSE");
const runnerSource = join(packageDir, "native", "runner.c");
const cacheDir = join(packageDir, ".cache", "engine-build");

const force = process.argv.includes("--force");
if (!force && existsSync(wasmPath) && existsSync(infoPath) && existsSync(licensePath)) {
  const info = JSON.parse(readFileSync(infoPath, "utf8"));
  const runnerHash = hashFile(runnerSource);
  if (
    info.runnerSha256 === runnerHash &&
    info.quickjs === QUICKJS_VERSION &&
    info.initialMemoryBytes === INITIAL_MEMORY_BYTES
  ) {
    console.log(`engine: ${wasmPath} is up to date (quickjs ${info.quickjs})`);
    process.exit(0);
  }
}

function hashFile(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function run(cmd, args, options = {}) {
  try {
    return execFileSync(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      ...options,
    });
  } catch (error) {
    const out = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim();
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${out || error.message}`);
  }
}

function need(tool, hint) {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
  } catch {
    throw new Error(`engine: ${tool} is missing. ${hint}`);
  }
}

const TOOLCHAIN_HINT =
  "Install the toolchain: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 dpkg-dev (see .ci/setup/40-wasm-toolchain.sh).";

function fetchSource() {
  const aptDir = join(cacheDir, "apt");
  const srcDir = join(cacheDir, "src");
  const unpacked = join(srcDir, `${QUICKJS_PACKAGE}-${QUICKJS_VERSION.split("-")[0]}`);
  if (existsSync(join(unpacked, "quickjs.c"))) return unpacked;
  need("apt-get", TOOLCHAIN_HINT);
  need("dpkg-source", TOOLCHAIN_HINT);
  for (const d of [
    "lists/partial",
    "cache/archives/partial",
    "etc/sources.list.d",
    "etc/preferences.d",
  ]) {
    mkdirSync(join(aptDir, d), { recursive: true });
  }
  writeFileSync(join(aptDir, "etc", "sources.list"), `${DEBIAN_SOURCES}\n`);
  writeFileSync(join(aptDir, "status"), "");
  const aptOptions = [
    "-o",
    `Dir::Etc::SourceList=${join(aptDir, "etc", "sources.list")}`,
    "-o",
    `Dir::Etc::SourceParts=${join(aptDir, "etc", "sources.list.d")}`,
    "-o",
    `Dir::Etc::Preferences=${join(aptDir, "etc", "preferences")}`,
    "-o",
    `Dir::Etc::PreferencesParts=${join(aptDir, "etc", "preferences.d")}`,
    "-o",
    `Dir::State=${aptDir}`,
    "-o",
    `Dir::State::Lists=${join(aptDir, "lists")}`,
    "-o",
    `Dir::State::status=${join(aptDir, "status")}`,
    "-o",
    `Dir::Cache=${join(aptDir, "cache")}`,
    "-o",
    "Debug::NoLocking=1",
    "-o",
    "APT::Sandbox::User=root",
  ];
  console.log(
    `engine: fetching the source package ${QUICKJS_PACKAGE} ${QUICKJS_VERSION} (Debian trixie, private apt configuration)`,
  );
  run("apt-get", [...aptOptions, "-qq", "update"]);
  mkdirSync(srcDir, { recursive: true });
  run("apt-get", [...aptOptions, "-qq", "source", `${QUICKJS_PACKAGE}=${QUICKJS_VERSION}`], {
    cwd: srcDir,
  });
  if (!existsSync(join(unpacked, "quickjs.c"))) {
    throw new Error(`engine: apt-get source did not unpack ${unpacked}`);
  }
  return unpacked;
}

function prepareSource(src) {
  // A copy with the two build switches WASI needs, in the build cache (never committed):
  // no Atomics (they need OS threads) and no <setjmp.h> (wasi-libc has none without the
  // exception-handling proposal; dtoa.c includes it without using it).
  const work = join(cacheDir, "work");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "include"), { recursive: true });
  const files = ["quickjs.c", "dtoa.c", "libregexp.c", "libunicode.c", "cutils.c"];
  for (const name of readdirSync(src)) {
    if (name.endsWith(".h") || files.includes(name)) {
      let text = readFileSync(join(src, name), "utf8");
      if (name === "quickjs.c") {
        if (!/^#define CONFIG_ATOMICS$/m.test(text))
          throw new Error("engine: CONFIG_ATOMICS switch not found in quickjs.c");
        text = text.replace(
          /^#define CONFIG_ATOMICS$/m,
          "/* CONFIG_ATOMICS off for wasm32-wasi */",
        );
      }
      writeFileSync(join(work, name), text);
    }
  }
  writeFileSync(join(work, "include", "setjmp.h"), "/* empty: wasm32-wasi has no setjmp */\n");
  return { work, files };
}

function compile(src) {
  need("clang", TOOLCHAIN_HINT);
  need("wasm-ld", TOOLCHAIN_HINT);
  const { work, files } = prepareSource(src);
  const version = readFileSync(join(src, "VERSION"), "utf8").trim();
  mkdirSync(engineDir, { recursive: true });
  const cflags = [
    "--target=wasm32-wasi",
    "--sysroot=/usr",
    "-O2",
    "-fwrapv",
    "-D_GNU_SOURCE",
    "-D_WASI_EMULATED_SIGNAL",
    `-DCONFIG_VERSION="${version}"`,
    `-DRUNNER_JS_STACK_BYTES=${JS_STACK_BYTES}`,
    "-include",
    "stddef.h",
    "-include",
    "malloc.h",
    "-Wno-everything",
    "-I",
    join(work, "include"),
    "-I",
    work,
  ];
  const objects = [];
  const t0 = Date.now();
  for (const file of [...files.map((f) => join(work, f)), runnerSource]) {
    const obj = join(work, `${file.split("/").pop()}.o`);
    run("clang", [...cflags, "-c", file, "-o", obj]);
    objects.push(obj);
  }
  run("clang", [
    "--target=wasm32-wasi",
    "--sysroot=/usr",
    "-O2",
    "-o",
    wasmPath,
    ...objects,
    "-lwasi-emulated-signal",
    `-Wl,-z,stack-size=${SHADOW_STACK_BYTES}`,
    `-Wl,--initial-memory=${INITIAL_MEMORY_BYTES}`,
    `-Wl,--max-memory=${MAX_MEMORY_BYTES}`,
    "-Wl,--strip-all",
  ]);
  const size = statSync(wasmPath).size;
  const info = {
    engine: `quickjs ${version}`,
    quickjs: QUICKJS_VERSION,
    source: `Debian source package ${QUICKJS_PACKAGE} ${QUICKJS_VERSION} (trixie)`,
    target: "wasm32-wasi",
    wasmBytes: size,
    wasmSha256: hashFile(wasmPath),
    runnerSha256: hashFile(runnerSource),
    jsStackBytes: JS_STACK_BYTES,
    initialMemoryBytes: INITIAL_MEMORY_BYTES,
    maxMemoryBytes: MAX_MEMORY_BYTES,
  };
  writeFileSync(infoPath, `${JSON.stringify(info, null, 2)}\n`);
  // QuickJS is MIT-licensed: its notice travels with the binary built from it.
  writeFileSync(licensePath, readFileSync(join(src, "LICENSE"), "utf8"));
  console.log(
    `engine: built ${wasmPath} (${Math.round(size / 1024)} KB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

try {
  compile(fetchSource());
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
