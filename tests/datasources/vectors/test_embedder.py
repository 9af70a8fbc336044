from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from datasources.vectors import embedder as embedder_module
from datasources.vectors.embedder import DIMENSION, Engine, MiniLMEmbedder, erf

REFERENCE = Path(__file__).parents[2] / "fixtures" / "minilm_reference.json"


def load_reference() -> tuple[list[str], np.ndarray]:
    data = json.loads(REFERENCE.read_text())
    assert data["dimension"] == DIMENSION
    texts = [item["text"] for item in data["items"]]
    return texts, np.array([item["embedding"] for item in data["items"]], dtype=np.float64)


def test_matches_sentence_transformers(embedder: MiniLMEmbedder) -> None:
    texts, expected = load_reference()
    vectors = embedder.embed(texts)
    assert vectors.shape == (len(texts), DIMENSION)
    assert vectors.dtype == np.float32
    worst = np.abs(vectors - expected).max(axis=1)
    mismatched = {texts[i][:40]: float(worst[i]) for i in np.flatnonzero(worst > 1e-5)}
    assert not mismatched


@pytest.mark.parametrize("engine", ["onnx", "numpy"])
def test_both_engines_match_the_reference_to_1e_6(engine: Engine) -> None:
    """onnxruntime runs a graph built from the same weights (no export): it must compute the same function."""
    texts, expected = load_reference()
    vectors = MiniLMEmbedder(engine=engine).embed(texts)
    assert np.abs(vectors - expected).max() <= 1e-6


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine"):
        MiniLMEmbedder(engine="torch")  # type: ignore[arg-type]


def test_vectors_are_unit_length(embedder: MiniLMEmbedder) -> None:
    texts, _ = load_reference()
    norms = np.linalg.norm(embedder.embed(texts), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


def test_a_text_embeds_the_same_alone_and_in_a_batch(embedder: MiniLMEmbedder) -> None:
    texts, _ = load_reference()
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([text])[0] for text in texts])
    np.testing.assert_allclose(alone, together, atol=1e-6)


@pytest.mark.parametrize("engine", ["onnx", "numpy"])
def test_many_small_batches_keep_input_order(engine: Engine) -> None:
    small = MiniLMEmbedder(batch_size=3, engine=engine)
    texts, expected = load_reference()
    np.testing.assert_allclose(small.embed(texts), expected, atol=1e-5)


def test_empty_input_and_a_bare_string(embedder: MiniLMEmbedder) -> None:
    assert embedder.embed([]).shape == (0, DIMENSION)
    with pytest.raises(TypeError):
        embedder.embed("not a list")


def test_erf_is_accurate_to_float32() -> None:
    x = np.linspace(-6, 6, 20001, dtype=np.float32)
    expected = np.array([math.erf(float(v)) for v in x])
    assert np.abs(erf(x) - expected).max() < 1e-6


def test_a_folder_without_weights_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        MiniLMEmbedder(tmp_path).load()


def test_weights_load_once_under_concurrent_first_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_load = embedder_module._load

    def counting_load(model_dir: Path) -> object:
        calls.append(model_dir)
        return real_load(model_dir)

    monkeypatch.setattr(embedder_module, "_load", counting_load)
    fresh = MiniLMEmbedder()
    with ThreadPoolExecutor(4) as pool:
        vectors = list(pool.map(lambda text: fresh.embed([text]), ["a", "b", "c", "d"]))
    assert len(calls) == 1
    assert all(v.shape == (1, DIMENSION) for v in vectors)
