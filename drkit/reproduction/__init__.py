"""Is the rebuilt platform the one that was torn down? Snapshots taken before, compared after.

Two comparisons, shared by the steps that run them in a drill (`goldenPredictions`/`predictionParity`,
`inventory`/`reproductionDiff`) and by `drkit diff` between two clusters:

- `parity`: the predictions a model gives for the same inputs, element by element within a tolerance, and
  whether the model that answered is the same MLflow model or a retrained one;
- `inventory` and `diff`: the platform's objects with what a rebuild legitimately changes normalised away
  (uids, resourceVersions, status, server-assigned fields; Secret data reduced to salted digests), then
  missing, extra and changed objects with the JSON paths that changed.

Pure except `collect`, which lists objects through `drkit.kube.Cluster`; `snapshots` keeps them in the run
directory, as JSON without secret values, so `drkit resume` finds them again.
"""
