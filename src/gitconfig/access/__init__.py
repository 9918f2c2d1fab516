"""Identity and access: who a request is, and what it may do.

- ``principals``: principals and their grants, ``authorize``, the token registry;
- ``accessfile``: the access file (subjects, grants, rate limits), re-read when it changes;
- ``jwtauth``: bearer JWTs verified against configured keys (PyJWT);
- ``ratelimit``: per-principal request limits (``limits``);
- ``tokencache``: ``HeaderAuthenticator``, principals by raw header bytes; its
  ``credential``/``authenticate`` are the one way every door (REST routes, the read fast
  path, OFREP, Spring, SSE, gRPC) turns a request's credentials into a principal;
- ``reveal``: whether a principal may see a SECRET's plaintext.

This package imports only ``gitconfig.core``: the service and every transport import it.
"""
