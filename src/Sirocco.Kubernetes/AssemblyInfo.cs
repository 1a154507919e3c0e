// Sirocco.Kubernetes: see README.md in this folder.
