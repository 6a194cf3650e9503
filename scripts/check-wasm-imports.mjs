// Lists the imports and exports of WebAssembly modules and fails if a module imports anything
// but the two host functions the runtime is allowed (no WASI: the module must run from our own
// small loader in Node and in browsers). Usage: node scripts/check-wasm-imports.mjs FILE.wasm...
import { readFileSync } from 'node:fs';

const ALLOWED = new Set(['env.emscripten_notify_memory_growth', 'env.ifc_now_ms']);
let bad = 0;
for (const file of process.argv.slice(2)) {
  const mod = new WebAssembly.Module(readFileSync(file));
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name} (${i.kind})`);
  const exports = WebAssembly.Module.exports(mod).map((e) => `${e.name} (${e.kind})`);
  console.log(`${file}\n  imports: ${imports.join(', ') || 'none'}\n  exports: ${exports.join(', ')}`);
  for (const i of WebAssembly.Module.imports(mod)) {
    if (!ALLOWED.has(`${i.module}.${i.name}`)) {
      console.error(`  NOT ALLOWED: import ${i.module}.${i.name}`);
      bad++;
    }
  }
}
process.exit(bad ? 1 : 0);
