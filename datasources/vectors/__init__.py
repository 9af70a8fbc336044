"""Vector search over Chroma with embeddings computed here (all-MiniLM-L6-v2 in numpy, offline)."""

from datasources.vectors.chroma import VectorStore
from datasources.vectors.connect import open_vectors
from datasources.vectors.embedder import Embedder, MiniLMEmbedder
from datasources.vectors.records import LeadText, VectorMatch

__all__ = ["Embedder", "LeadText", "MiniLMEmbedder", "VectorMatch", "VectorStore", "open_vectors"]
