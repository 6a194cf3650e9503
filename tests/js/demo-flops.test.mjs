// web/demo/flops.js: the teacher comparison of the demo, read from the model file's optional config
// key `teacher` (docs/model-format.md, "config") and counted with the spec's FLOPs formula.
// Expected numbers: train/flops.py dense_flops on the same shapes (the trainer's accounting):
//   /usr/bin/python3 -c "from train.model import ModelConfig; from train import flops;
//     c = ModelConfig.dense(4, 256, 4, 1024, labels=['negative', 'positive']);
//     print([flops.dense_flops(c, n) for n in (1, 25, 128, 512)])"
//   -> [6427648, 159978496, 872547328, 4295099392]; the mixed shape below -> [744, 5160] at n = 1, 7.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { denseTeacherFlops, teacherOf } from '../../web/demo/flops.js';
import { readModelFile } from '../../web/model-file.js';
import { ROOT } from './helpers.mjs';

const TEACHER_4L256 = { hidden_size: 256, head_size: 64, layers: Array.from({ length: 4 }, () => ({ heads: 4, ffn: 1024 })) };

test('denseTeacherFlops: the spec formula, as train/flops.py counts it', () => {
    assert.deepEqual([1, 25, 128, 512].map((n) => denseTeacherFlops(TEACHER_4L256, n, 2)), [6427648, 159978496, 872547328, 4295099392]);
    const mixed = { hidden_size: 8, head_size: 2, layers: [{ heads: 3, ffn: 0 }, { heads: 0, ffn: 5 }, { heads: 0, ffn: 0 }] };
    assert.deepEqual([1, 7].map((n) => denseTeacherFlops(mixed, n, 3)), [744, 5160]);
});

test('teacherOf: the config key, or null when absent or malformed (informational key)', () => {
    assert.deepEqual(teacherOf({ teacher: TEACHER_4L256 }), TEACHER_4L256);
    assert.deepEqual(teacherOf({ teacher: { ...TEACHER_4L256, layers: [{ heads: 4, ffn: 1024, sampler: false }] } }),
        { hidden_size: 256, head_size: 64, layers: [{ heads: 4, ffn: 1024 }] });
    for (const bad of [undefined, null, 3, 'x', [], {}, { ...TEACHER_4L256, hidden_size: 0 }, { ...TEACHER_4L256, head_size: 1.5 },
        { ...TEACHER_4L256, layers: 4 }, { ...TEACHER_4L256, layers: [{ heads: -1, ffn: 2 }] }, { ...TEACHER_4L256, layers: [null] },
        { ...TEACHER_4L256, layers: [{ heads: 4 }] }]) {
        assert.equal(teacherOf({ teacher: bad }), null, JSON.stringify(bad));
    }
    assert.equal(teacherOf(null), null);
});

test('the shipped models name their teacher (4 layers, 256 wide, 4 heads, FFN 1024); the fixtures do not', () => {
    for (const name of ['sst2', 'mrpc']) {
        const file = new URL(`models/${name}.safetensors`, ROOT);
        if (!fs.existsSync(file)) continue;
        const { config } = readModelFile(new Uint8Array(fs.readFileSync(file)));
        assert.deepEqual(teacherOf(config), TEACHER_4L256, name);
    }
    const { config } = readModelFile(new Uint8Array(fs.readFileSync(new URL('tests/fixtures/sampled.f32.safetensors', ROOT))));
    assert.equal(teacherOf(config), null);
});
