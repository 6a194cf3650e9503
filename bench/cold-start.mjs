// One cold start, in a fresh Node process (run by bench/compare.mjs, one process per measurement):
//   node bench/cold-start.mjs '{"kind": "ours"|"ort-web"|"ort-node", "path": MODEL, "inputs": INPUTS.json}'
// Cold start = import the engine's library + compile/instantiate its wasm (or load the native
// library) + load the model file + the first answer (the first SST-2 dev sentence, ids prepared by
// compare.mjs). Then the longest SST-2 dev sentence and a 512-token input are run, and the peak
// memory is read after each: the engine's wasm memory (byteLength of the memories its instance
// exports or imports, see engines.mjs; wasm memory never shrinks, so this is the peak) and the
// process's peak RSS (VmHWM of /proc/self/status; not getrusage's maxRSS, which Linux carries
// over from the parent across fork + exec) minus the RSS at process start. Besides the wall time,
// the cold start's CPU time: the main thread's (Linux /proc/thread-self/schedstat) and all threads'
// (process.cpuUsage: V8's background compile and GC threads too). On a busy machine the wall time
// also holds the time spent waiting for a core; the CPU times do not. Prints one JSON line.
// This file imports nothing but engines.mjs before the clock starts.
import { readFileSync } from 'node:fs';
import { openEngine, wasmBytes } from './engines.mjs';

// peak resident set size of this process in bytes (Linux), else null
const peakRss = () => {
    try {
        const m = /VmHWM:\s*(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
        return m ? Number(m[1]) * 1024 : null;
    } catch { return null; }
};
const rssStart = process.memoryUsage().rss;
const spec = JSON.parse(process.argv[2]);
const inputs = JSON.parse(readFileSync(spec.inputs, 'utf8'));
const arr = (x) => ({ ids: Int32Array.from(x.ids), types: Int32Array.from(x.types) });
const first = arr(inputs.first), longest = arr(inputs.longest), long = arr(inputs.long);

// ms on a CPU: this (main) thread, null where /proc is missing; all threads of the process
const mainCpu = () => { try { return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6; } catch { return null; } };
const allCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

const m0 = mainCpu(), a0 = allCpu(), t0 = performance.now();
const engine = await openEngine(spec);
await engine.run(first.ids, first.types);
const coldMs = performance.now() - t0;
const m1 = mainCpu(), coldAllCpuMs = allCpu() - a0, coldMainCpuMs = m0 === null ? null : m1 - m0;

await engine.run(longest.ids, longest.types);
const wasmSst2 = wasmBytes(engine), rssSst2 = peakRss();
await engine.run(long.ids, long.types);
const wasmLong = wasmBytes(engine), rssLong = peakRss();
console.log(JSON.stringify({ coldMs, coldMainCpuMs, coldAllCpuMs, wasmSst2, wasmLong, rssStart, rssSst2, rssLong, longN: long.ids.length }));
