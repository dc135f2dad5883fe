"""The jobs the lab's Argo controller really runs (`python -m drkit_lab.jobs data|train ...`).

They stand in for the financial-mlops pipeline containers of seed 003: `data` writes a small synthetic
market dataset, `train` fits a scikit-learn classifier and logs it to the real MLflow server, so the storage
URIs a drill rewrites point at real `MLmodel` files. MLflow and scikit-learn are imported only inside
`train` (they are heavy)."""
