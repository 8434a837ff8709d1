"""``soundstage serve``: a local web application over the public API.

``content`` (what an upload is, by its bytes) → ``store`` (uploads by server-made id) → ``scenes``
(the page's scene JSON ↔ scenes over the store) → ``tasks`` (what each job does) run by ``worker`` in
processes that ``jobs`` queues and caches → ``app`` (the FastAPI endpoints) and ``static/`` (the page).
"""
