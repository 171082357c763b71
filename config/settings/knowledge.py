"""Knowledge bases: uploads, chunking and search (docs/knowledge.md)."""

from config.env import BASE_DIR, env

# Where uploaded knowledge files are kept (one folder per tenant schema; never served by URL).
KNOWLEDGE_FILES_ROOT = env.path("KNOWLEDGE_FILES_ROOT", default=str(BASE_DIR / "private" / "knowledge"))
# Largest file accepted by an upload, in bytes (default 10 MB).
KNOWLEDGE_MAX_UPLOAD_BYTES = env.int("KNOWLEDGE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
# Longest text accepted as a JSON document, in characters (the JSON body is also capped at 2.5 MB by Django).
KNOWLEDGE_MAX_TEXT_CHARS = env.int("KNOWLEDGE_MAX_TEXT_CHARS", default=500_000)
# Most pages read from a PDF, and most characters kept from any extracted file.
KNOWLEDGE_MAX_PDF_PAGES = env.int("KNOWLEDGE_MAX_PDF_PAGES", default=500)
KNOWLEDGE_MAX_EXTRACTED_CHARS = env.int("KNOWLEDGE_MAX_EXTRACTED_CHARS", default=2_000_000)
# Target size of a search chunk and the overlap carried into the next one, in characters.
KNOWLEDGE_CHUNK_CHARS = env.int("KNOWLEDGE_CHUNK_CHARS", default=1200)
KNOWLEDGE_CHUNK_OVERLAP_CHARS = env.int("KNOWLEDGE_CHUNK_OVERLAP_CHARS", default=200)
# Vector search: "" (off, full-text only) or "openai" (the tenant's OpenAI-compatible `/embeddings`
# endpoint, with the model provider settings' base URL, key, timeout and retries).
KNOWLEDGE_EMBEDDINGS_PROVIDER = env("KNOWLEDGE_EMBEDDINGS_PROVIDER", default="")
# The embeddings model asked for; its vectors' length comes from the endpoint's answer.
KNOWLEDGE_EMBEDDINGS_MODEL = env("KNOWLEDGE_EMBEDDINGS_MODEL", default="text-embedding-3-small")
# Ask for vectors this long (models that can shorten theirs, e.g. text-embedding-3: 256 makes
# vector search ~6x cheaper than 1536); 0: the model's own length.
KNOWLEDGE_EMBEDDINGS_DIMENSIONS = env.int("KNOWLEDGE_EMBEDDINGS_DIMENSIONS", default=0)
# Passages sent per `/embeddings` request.
KNOWLEDGE_EMBEDDINGS_BATCH = env.int("KNOWLEDGE_EMBEDDINGS_BATCH", default=64)
# Nearest passages by cosine similarity fused with the full-text ranking (reciprocal rank fusion).
KNOWLEDGE_VECTOR_CANDIDATES = env.int("KNOWLEDGE_VECTOR_CANDIDATES", default=20)
# Least cosine similarity for a passage to count as found by meaning (model-dependent; 0.25 suits
# OpenAI's text-embedding-3 models, where unrelated texts score about 0.0-0.2).
KNOWLEDGE_VECTOR_MIN_SIMILARITY = env.float("KNOWLEDGE_VECTOR_MIN_SIMILARITY", default=0.25)
# A document still `pending` or `indexing` this many minutes after its last change is queued again
# (the `knowledge-requeue-stuck` beat task, every 5 minutes).
KNOWLEDGE_STUCK_AFTER_MINUTES = env.int("KNOWLEDGE_STUCK_AFTER_MINUTES", default=30)
