"""An in-memory Kubernetes API server: enough of the real API for kubectl 1.37 and the official Python client.

`store` holds the objects and their history, `types` the resource registry (built-ins and CRD kinds), `http`
serves them over HTTPS with bearer-token auth; `resources` maps verbs to store calls, `discovery`, `openapi`
and `tables` answer what kubectl asks before and after it acts, `watch` streams events, `patch` and `protobuf`
decode what clients send.

Where the lab knowingly differs from a real server:
- server-side apply merges the applied configuration over the live object (maps recursively, lists replaced)
  and records one managedFields entry per manager; it never reports field-ownership conflicts and does not
  remove fields a manager stops applying;
- strategic merge patch knows the merge keys kubectl relies on (containers, volumes, env, ports, ...), not
  every list in the API;
- a CRD is Established as part of its create; deleting it removes its objects at once (no
  `customresourcecleanup` finalizer), and ownerReference garbage collection runs synchronously;
- `limit`/`continue` pages are cut from the live objects, not from the first page's snapshot, and no field
  is validated against a schema;
- protobuf request bodies are decoded only for Namespace, ConfigMap, Secret and ServiceAccount
  (what `kubectl create` sends); responses are always JSON.
"""
