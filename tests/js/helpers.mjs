// Shared by the node:test files: fixture paths and a safetensors rewriter for making broken files.
import fs from 'node:fs';

export const ROOT = new URL('../../', import.meta.url);
export const FIXTURES = new URL('tests/fixtures/', ROOT);
export const CLI = new URL('web/cli.js', ROOT).pathname;
export const FIXTURE_NAMES = ['dense', 'pruned', 'sampled'];
export const DTYPES = ['f32', 'f16', 'i8', 'i4'];

export function fixturePath(name, dtype = 'f32') {
    return new URL(`${name}.${dtype}.safetensors`, FIXTURES).pathname;
}
export function fixtureBytes(name, dtype = 'f32') {
    return new Uint8Array(fs.readFileSync(fixturePath(name, dtype)));
}
export function fixtureCases(name) {
    return JSON.parse(fs.readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));
}

// Splits a safetensors file into {header (parsed JSON), data (Uint8Array)}.
export function splitSafetensors(bytes) {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

// Builds a safetensors file from a header object and a data area.
export function joinSafetensors(header, data) {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
}

// A copy of a fixture with edit(header, config) applied (config: the parsed __metadata__.config,
// written back after the edit unless the edit set __metadata__.config itself).
export function editedFixture(edit, name = 'sampled', dtype = 'f32') {
    const { header, data } = splitSafetensors(fixtureBytes(name, dtype));
    const original = header.__metadata__.config;
    const config = JSON.parse(original);
    edit(header, config);
    // write the edited config back, unless the edit replaced the config string itself
    if (header.__metadata__ && header.__metadata__.config === original) header.__metadata__.config = JSON.stringify(config);
    return joinSafetensors(header, data);
}

// Largest absolute difference of two number lists.
export function maxAbsDiff(a, b) {
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
}
