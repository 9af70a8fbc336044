"""all-MiniLM-L6-v2's encoder as an ONNX graph, built by hand from the same weights the numpy engine loads.

No export (that needs torch): each node below is one step of `embedder._encode`, so the two engines compute the
same function, and the reference vectors check both. onnxruntime then runs it with its own fused kernels.
Inputs are what `embed` prepares per batch: token ids, token type ids and the additive key bias (0 for a real
token, the most negative float32 for padding); the output is the last layer's token states, pooled in numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from datasources.vectors.embedder import _Model

OPSET = 17  # LayerNormalization
_HEADS = 12


def build(model: _Model, *, eps: float) -> bytes:
    """The serialized ModelProto (weights inline, ~90 MB)."""
    from onnx import TensorProto, helper, numpy_helper

    dimension = model.word.shape[1]
    head_dim = dimension // _HEADS
    nodes: list[Any] = []
    weights: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value, order="C"), name))  # no copy; 0-d stays 0-d
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def layer_norm(x: str, w: np.ndarray, b: np.ndarray, name: str) -> str:
        return node("LayerNormalization", [x, const(f"{name}.w", w), const(f"{name}.b", b)], name,
                    axis=-1, epsilon=eps)

    def dense(x: str, w: np.ndarray, b: np.ndarray, name: str) -> str:
        return node("Add", [node("MatMul", [x, const(f"{name}.w", w)], f"{name}.mm"), const(f"{name}.b", b)], name)

    # positions 0..seq-1: the shape of the ids, sliced out and counted up
    seq = node("Gather", [node("Shape", ["input_ids"], "shape"), const("one", np.array(1, np.int64))], "seq")
    positions = node("Range", [const("zero", np.array(0, np.int64)), seq, "one"], "positions")
    embedded = node("Add", [
        node("Add", [node("Gather", [const("word", model.word), "input_ids"], "words"),
                     node("Gather", [const("position", model.position), positions], "places")], "wp"),
        node("Gather", [const("token_type", model.token_type), "token_type_ids"], "types")], "embedded")
    x = layer_norm(embedded, model.ln_w, model.ln_b, "embeddings.ln")
    split = const("qkv.shape", np.array([0, 0, 3, _HEADS, head_dim], np.int64))
    merged = const("context.shape", np.array([0, 0, dimension], np.int64))
    scale = const("scale", np.array(1 / np.sqrt(head_dim), np.float32))
    sqrt_half = const("sqrt_half", np.array(1 / np.sqrt(2), np.float32))
    half, unit = const("half", np.array(0.5, np.float32)), const("unit", np.array(1.0, np.float32))
    for i, layer in enumerate(model.layers):
        p = f"l{i}"
        qkv = node("Reshape", [dense(x, layer.qkv_w, layer.qkv_b, f"{p}.qkv"), split], f"{p}.qkv5")
        heads = node("Transpose", [qkv], f"{p}.heads", perm=[2, 0, 3, 1, 4])  # (3, batch, heads, seq, head_dim)
        q, k, v = (node("Gather", [heads, const(f"{p}.{n}.i", np.array(j, np.int64))], f"{p}.{n}", axis=0)
                   for j, n in enumerate("qkv"))
        scores = node("Add", [node("Mul", [node("MatMul", [q, node("Transpose", [k], f"{p}.kt", perm=[0, 1, 3, 2])],
                                                f"{p}.qk"), scale], f"{p}.scaled"), "key_bias"], f"{p}.scores")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        context = node("Reshape", [node("Transpose", [node("MatMul", [probs, v], f"{p}.pv")], f"{p}.ctx",
                                        perm=[0, 2, 1, 3]), merged], f"{p}.context")
        attended = node("Add", [dense(context, layer.out_w, layer.out_b, f"{p}.out"), x], f"{p}.res1")
        x = layer_norm(attended, layer.ln1_w, layer.ln1_b, f"{p}.ln1")
        up = dense(x, layer.up_w, layer.up_b, f"{p}.up")
        erf = node("Erf", [node("Mul", [up, sqrt_half], f"{p}.up.scaled")], f"{p}.erf")
        gelu = node("Mul", [node("Mul", [up, node("Add", [erf, unit], f"{p}.erf1")], f"{p}.gelu2"), half], f"{p}.gelu")
        x = layer_norm(node("Add", [dense(gelu, layer.down_w, layer.down_b, f"{p}.down"), x], f"{p}.res2"),
                       layer.ln2_w, layer.ln2_b, f"{p}.ln2")
    nodes[-1].output[0] = "tokens"
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("key_bias", TensorProto.FLOAT, ["batch", 1, 1, "seq"])],
        [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["batch", "seq", dimension])],
        weights,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 8
    return bytes(onnx_model.SerializeToString())
