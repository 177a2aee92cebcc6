#!/usr/bin/python3
"""Writes a q4 variant of an fp32 decoder with real weights, for the matmul precision benchmark:
every MatMul whose second input is a float32 initializer [K, N] becomes a com.microsoft MatMulNBits
(4 bits, blocks of 32 along K, asymmetric: one scale and one zero point per block, as the
onnx-community q4 exports are quantized), accuracy_level unset like theirs.

  quantize_q4.py SRC_DIR OUT_DIR     (SRC_DIR/onnx/model.onnx -> OUT_DIR/onnx/model_q4.onnx)

The configs and tokenizer files are copied beside it. Needs Debian's python3-onnx and python3-numpy.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

BLOCK = 32


def quantize(w):
    """w float32 [K, N] -> packed uint8 [N, blocks, 16], scales float32 [N, blocks], zero points
    uint8 [N, ceil(blocks / 2)] (two a byte, even block in the low nibble)."""
    k, n = w.shape
    blocks = (k + BLOCK - 1) // BLOCK
    wt = np.zeros((n, blocks * BLOCK), np.float32)
    wt[:, :k] = w.T
    wt = wt.reshape(n, blocks, BLOCK)
    lo = np.minimum(wt.min(axis=2), 0.0)
    hi = np.maximum(wt.max(axis=2), 0.0)
    scale = (hi - lo) / 15.0
    scale[scale == 0] = 1.0
    zp = np.clip(np.rint(-lo / scale), 0, 15).astype(np.uint8)
    q = np.clip(np.rint(wt / scale[..., None]) + zp[..., None], 0, 15).astype(np.uint8)
    q = q.reshape(n, blocks, BLOCK // 2, 2)
    packed = (q[..., 0] | (q[..., 1] << 4)).astype(np.uint8)
    if blocks % 2:
        zp = np.concatenate([zp, np.full((n, 1), 8, np.uint8)], axis=1)
    zp = zp.reshape(n, -1, 2)
    return packed, scale.astype(np.float32), (zp[..., 0] | (zp[..., 1] << 4)).astype(np.uint8)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for name in os.listdir(src):
        if name.endswith(".json"):
            shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    model = onnx.load(os.path.join(src, "onnx", "model.onnx"))
    shutil.copyfile(os.path.join(src, "onnx", "model.onnx"), os.path.join(out, "onnx", "model.onnx"))
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    used = {}
    for node in g.node:
        for i in node.input:
            used[i] = used.get(i, 0) + 1
    nodes, quantized = [], 0
    for node in g.node:
        b = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if b is None or b.data_type != onnx.TensorProto.FLOAT or len(b.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(b)
        packed, scale, zp = quantize(w)
        base = node.name or node.output[0]
        names = [f"{base}_q4", f"{base}_scales", f"{base}_zp"]
        g.initializer.extend([numpy_helper.from_array(a, n) for a, n in zip((packed, scale, zp), names)])
        if used[b.name] == 1:
            g.initializer.remove(b)
        nodes.append(helper.make_node("MatMulNBits", [node.input[0], *names], list(node.output), name=base,
                                      domain="com.microsoft", K=w.shape[0], N=w.shape[1], bits=4, block_size=BLOCK))
        quantized += 1
    del g.node[:]
    g.node.extend(nodes)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, os.path.join(out, "onnx", "model_q4.onnx"))
    print(f"{out}: {quantized} MatMul -> MatMulNBits", file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()
