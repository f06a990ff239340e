"""A small HTTP/1.1 client for probes that must see every phase of a request.

General-purpose clients (httpx, aiohttp) hide where the time goes; the http
and content probes need dns / connect / tls / first byte / transfer times,
a hard cap on the decompressed body, and every redirect hop. See ``fetch``.
"""
