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
# Dotted path of an embeddings provider (knowledge.embeddings.EmbeddingsProvider); empty: full-text only.
KNOWLEDGE_EMBEDDINGS_PROVIDER = env("KNOWLEDGE_EMBEDDINGS_PROVIDER", default="")
# A document still `pending` or `indexing` this many minutes after its last change is queued again
# (the `knowledge-requeue-stuck` beat task, every 5 minutes).
KNOWLEDGE_STUCK_AFTER_MINUTES = env.int("KNOWLEDGE_STUCK_AFTER_MINUTES", default=30)
