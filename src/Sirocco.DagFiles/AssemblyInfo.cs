// Sirocco.DagFiles: see README.md in this folder.
