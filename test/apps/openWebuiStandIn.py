"""A stand-in for Open WebUI v0.11.0's calls out of its container, driven by the environment the
render gives it (no PyPI here, so not the real program). Each call mirrors the source at upstream
commit f9590b8 (0.11.0):
- TLS: env.py _build_ssl_context_from_file: ssl.create_default_context(cafile=AIOHTTP_CLIENT_SSL_CERT_FILE).
- models: routers/openai.py send_get_request(f'{url}/models') with Authorization: Bearer <OPENAI_API_KEY>.
- a chat: routers/openai.py POST f'{url}/chat/completions', the model from DEFAULT_MODELS.
- a memory: routers/memories.py embeds it with the RAG embedding function, retrieval/utils.py
  agenerate_openai_batch_embeddings: POST f'{RAG_OPENAI_API_BASE_URL}/embeddings' with
  {'input': [...], 'model': RAG_EMBEDDING_MODEL}; then retrieval/vector/dbs/qdrant_multitenancy.py
  upserts it into f'{QDRANT_COLLECTION_PREFIX}_memories' (collection_exists, create_collection
  with cosine distance and the vector's size, payload indexes, upload_points with tenant_id
  'user-memory-<id>'), qdrant-client sending the api-key header.
- web search: retrieval/web/searxng.py GET on SEARXNG_QUERY_URL up to '?', with q and format=json.
Prints one JSON line of what it got back.
"""
import json
import os
import ssl
import urllib.parse
import urllib.request

env = os.environ
context = ssl.create_default_context(cafile=env["AIOHTTP_CLIENT_SSL_CERT_FILE"]) if env.get("AIOHTTP_CLIENT_SSL_CERT_FILE") else None


def call(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})})
    with urllib.request.urlopen(request, timeout=10, context=context if url.startswith("https:") else None) as answer:
        return json.loads(answer.read().decode() or "null")


bearer = lambda key: {"Authorization": f"Bearer {key}"}
qdrant = lambda method, path, body=None: call(method, env["QDRANT_URI"] + path, body, {"api-key": env["QDRANT_API_KEY"]})

models = call("GET", env["OPENAI_API_BASE_URL"] + "/models", headers=bearer(env["OPENAI_API_KEY"]))
chat = call("POST", env["OPENAI_API_BASE_URL"] + "/chat/completions", {"model": env["DEFAULT_MODELS"].split(",")[0], "messages": [{"role": "user", "content": "hi"}], "stream": False}, bearer(env["OPENAI_API_KEY"]))
embedded = call("POST", env["RAG_OPENAI_API_BASE_URL"] + "/embeddings", {"input": ["The user lives in Thailand."], "model": env["RAG_EMBEDDING_MODEL"]}, bearer(env["RAG_OPENAI_API_KEY"]))
vector = embedded["data"][0]["embedding"]
collection = f'{env["QDRANT_COLLECTION_PREFIX"]}_memories'
qdrant("GET", "/")
if not qdrant("GET", f"/collections/{collection}/exists")["result"]["exists"]:
    qdrant("PUT", f"/collections/{collection}", {"vectors": {"size": len(vector), "distance": "Cosine", "on_disk": False}, "hnsw_config": {"payload_m": 16, "m": 0}})
    for field in ("tenant_id", "metadata.hash", "metadata.file_id"):
        qdrant("PUT", f"/collections/{collection}/index?wait=true", {"field_name": field, "field_schema": {"type": "keyword", **({"is_tenant": True} if field == "tenant_id" else {}), "on_disk": False}})
qdrant("PUT", f"/collections/{collection}/points?wait=true", {"points": [{"id": "6f1b2c3d-0000-4000-8000-000000000001", "vector": vector, "payload": {"text": "The user lives in Thailand.", "metadata": {}, "tenant_id": "user-memory-1"}}]})
found = None
if env.get("ENABLE_WEB_SEARCH") == "true":
    base = env["SEARXNG_QUERY_URL"].split("?")[0]
    found = call("GET", base + "?" + urllib.parse.urlencode({"q": "infernus", "format": "json", "pageno": 1}))
print(json.dumps({"models": [m["id"] for m in models["data"]], "chat": chat["choices"][0]["message"]["content"], "dimensions": len(vector), "search": found and len(found["results"])}))
